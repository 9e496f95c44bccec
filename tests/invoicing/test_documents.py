from decimal import Decimal

import pytest

from invoicing.models import BillingDocument, CreditMemo, Invoice
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def make(model, amount):
    account = AccountFactory()
    return model.objects.create(
        account=account,
        currency=account.currency,
        document_date="2026-02-01",
        due_date="2026-03-03",
        amount=Decimal(amount),
    )


def test_each_kind_has_its_own_manager_and_saves_its_own_kind():
    invoice = make(Invoice, "10.00")
    memo = make(CreditMemo, "4.00")
    assert invoice.kind == BillingDocument.Kind.INVOICE
    assert memo.kind == BillingDocument.Kind.CREDIT_MEMO
    assert list(Invoice.objects.all()) == [invoice]
    assert list(CreditMemo.objects.all()) == [memo]
    assert set(BillingDocument.objects.invoices()) == {invoice}
    assert set(BillingDocument.objects.credit_memos()) == {memo}


def test_a_zero_amount_invoice_is_still_an_invoice():
    invoice = make(Invoice, "0")
    assert invoice.is_zero_amount
    assert str(invoice) == "Unnumbered invoice"
