"""Each scope bills exactly the Active accounts it names; terms reach the documents."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Charge, UsageRecord
from invoicing.models import BillingDocument, DocumentLine
from tests.factories import AccountFactory, ChargeFactory, UsageRecordFactory, create_bill_run

pytestmark = pytest.mark.django_db
FEB1 = dt.date(2026, 2, 1)


@pytest.fixture
def accounts():
    """Active accounts on a grid of batches and days, plus a Draft and a Canceled one."""
    made = {}
    for batch in ("Batch1", "Batch2"):
        for day in (1, 15):
            account = AccountFactory(batch=batch, bill_cycle_day=day, name=f"{batch}-{day}")
            ChargeFactory(subscription__account=account)
            made[(batch, day)] = account
    for status in ("Draft", "Canceled"):
        ChargeFactory(subscription__account=AccountFactory(status=status, batch="Batch1"))
    return made


@pytest.fixture
def billed_names(django_capture_on_commit_callbacks):
    def bill(**terms):
        with django_capture_on_commit_callbacks(execute=True):
            run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1, **terms)
        return sorted(
            BillingDocument.objects.filter(bill_run=run).values_list("account__name", flat=True)
        )

    return bill


@pytest.mark.parametrize(
    "terms, expected",
    [
        ({"batches": ["Batch1"]}, ["Batch1-1", "Batch1-15"]),
        ({"batches": ["Batch1", "Batch2"]}, ["Batch1-1", "Batch1-15", "Batch2-1", "Batch2-15"]),
        ({"bill_cycle_day": 15}, ["Batch1-15", "Batch2-15"]),
        ({"batches": ["Batch2"], "bill_cycle_day": 1}, ["Batch2-1"]),
        ({}, ["Batch1-1", "Batch1-15", "Batch2-1", "Batch2-15"]),
    ],
    ids=["one batch", "two batches", "bill cycle day", "batch and day", "all"],
)
def test_each_scope_bills_exactly_its_active_accounts(accounts, billed_names, terms, expected):
    assert billed_names(**terms) == expected


def test_a_single_account_run_bills_that_account_only(accounts, billed_names):
    target = accounts[("Batch2", 15)]
    assert billed_names(target_type="SingleAccount", account=target) == ["Batch2-15"]


def test_billing_in_advance_dates_documents_on_the_invoice_date(django_capture_on_commit_callbacks):
    charge = ChargeFactory(charged_through=dt.date(2026, 3, 31))
    with django_capture_on_commit_callbacks(execute=True):
        run = create_bill_run(
            acting_user=None, invoice_date=dt.date(2026, 3, 1), target_date=dt.date(2026, 4, 30)
        )
    document = BillingDocument.objects.get(bill_run=run)
    assert (document.document_date, document.target_date) == (dt.date(2026, 3, 1), run.target_date)
    line = document.lines.get()
    assert (line.service_start, line.service_end) == (dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    charge.refresh_from_db()
    assert charge.charged_through == dt.date(2026, 4, 30)


def test_excluded_charge_types_and_their_usage_are_left_untouched(
    django_capture_on_commit_callbacks,
):
    usage = UsageRecordFactory(usage_date=dt.date(2026, 1, 9))
    one_time = ChargeFactory(
        subscription=usage.charge.subscription,
        charge_type="OneTime",
        billing_period="",
        price=Decimal("15"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        create_bill_run(
            acting_user=None, invoice_date=FEB1, target_date=FEB1, charge_types=["OneTime"]
        )
    usage.refresh_from_db()
    usage.charge.refresh_from_db()
    assert (usage.status, usage.line, usage.charge.charged_through) == ("Pending", None, None)
    assert list(DocumentLine.objects.values_list("charge_id", flat=True)) == [one_time.pk]
    assert Charge.objects.get(pk=one_time.pk).charged_through == one_time.effective_start
    assert UsageRecord.objects.filter(status="Billed").count() == 0
