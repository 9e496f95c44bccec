"""Numbers are human-facing, zero-padded, assigned automatically and gapless per kind."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Account
from billruns.models import BillRun
from core.numbering import next_numbers
from invoicing.models import BillingDocument
from tests.factories import AccountFactory, BillingDocumentFactory, ChargeFactory, number_documents

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_accounts_subscriptions_charges_and_runs_are_numbered_automatically():
    charge = ChargeFactory()
    run = BillRun.objects.create(invoice_date=dt.date(2026, 2, 1), target_date=dt.date(2026, 2, 1))
    assert charge.subscription.account.number == "A00000001"
    assert charge.subscription.number == "S00000001"
    assert charge.number == "C00000001"
    assert run.number == "BR-00000001"


def test_a_given_number_is_kept():
    assert AccountFactory(number="A-LEGACY-42").number == "A-LEGACY-42"
    assert AccountFactory().number == "A00000001"


def test_bulk_created_accounts_are_numbered_in_one_block():
    accounts = [AccountFactory.build() for _ in range(3)]
    with transaction.atomic():
        Account.assign_numbers(accounts)
        Account.objects.bulk_create(accounts)
    assert [a.number for a in Account.objects.order_by("number")] == [
        "A00000001",
        "A00000002",
        "A00000003",
    ]


def write_documents(kinds: list[str], *, fail: bool = False) -> list[BillingDocument]:
    account = AccountFactory()
    documents = [BillingDocumentFactory.build(account=account, kind=kind) for kind in kinds]
    with transaction.atomic():
        number_documents(documents)
        BillingDocument.objects.bulk_create(documents)
        if fail:
            raise Boom
    return documents


def test_invoices_and_credit_memos_have_their_own_sequences():
    invoice, memo, invoice2 = write_documents(["Invoice", "CreditMemo", "Invoice"])
    assert (invoice.number, invoice2.number, memo.number) == (
        "INV00000001",
        "INV00000002",
        "CM00000001",
    )


def test_a_rolled_back_write_leaves_no_hole_in_the_numbers():
    write_documents(["Invoice", "CreditMemo"])
    with pytest.raises(Boom):
        write_documents(["Invoice", "Invoice", "CreditMemo"], fail=True)
    write_documents(["Invoice", "CreditMemo"])
    numbers = sorted(BillingDocument.objects.values_list("number", flat=True))
    assert numbers == ["CM00000001", "CM00000002", "INV00000001", "INV00000002"]


def test_a_failed_single_save_gives_its_number_back():
    AccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountFactory(batch="Batch99")
    assert AccountFactory().number == "A00000002"


def test_a_sequence_without_a_row_starts_at_one():
    with transaction.atomic():
        assert next_numbers("TEST", 2) == ["TEST00000001", "TEST00000002"]
        assert next_numbers("TEST", 1) == ["TEST00000003"]


def test_numbers_are_unique_across_many_blocks():
    account = AccountFactory()
    for size in (1, 5, 2, 7):
        with transaction.atomic():
            docs = [BillingDocumentFactory.build(account=account) for _ in range(size)]
            number_documents(docs)
            BillingDocument.objects.bulk_create(docs)
    values = sorted(int(n[3:]) for n in BillingDocument.objects.values_list("number", flat=True))
    assert values == list(range(1, 16))
