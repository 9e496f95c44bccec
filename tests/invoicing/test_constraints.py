"""The database itself refuses what must never be wrong, whatever code path writes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from invoicing.models import BillingDocument, DocumentLine
from tests.factories import BillingDocumentFactory, DocumentLineFactory

pytestmark = pytest.mark.django_db


def second_line_for(line: DocumentLine, **changes) -> DocumentLine:
    """A new line on a new document of the same account, for the same charge."""
    document = BillingDocumentFactory(account=line.document.account)
    fields = {
        "document": document,
        "charge": line.charge,
        "subscription": line.subscription,
        "charge_type": line.charge_type,
        "description": line.description,
        "service_start": line.service_start,
        "service_end": line.service_end,
        "amount": line.amount,
    }
    fields.update(changes)
    return DocumentLine(**fields)


def test_a_second_line_for_the_same_charge_and_service_start_is_refused():
    line = DocumentLineFactory(service_start=dt.date(2026, 2, 1))
    duplicate = second_line_for(line)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    assert DocumentLine.objects.filter(charge=line.charge).count() == 1


def test_bulk_create_cannot_double_bill_either():
    line = DocumentLineFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentLine.objects.bulk_create([second_line_for(line)])


def test_a_canceled_line_frees_its_period_for_rebilling():
    line = DocumentLineFactory()
    DocumentLine.objects.filter(pk=line.pk).update(canceled=True)
    rebilled = second_line_for(line)
    rebilled.save()
    assert DocumentLine.objects.filter(charge=line.charge, canceled=False).get() == rebilled


def test_the_next_period_of_the_same_charge_is_allowed():
    line = DocumentLineFactory(service_start=dt.date(2026, 2, 1), service_end=dt.date(2026, 2, 28))
    next_period = second_line_for(
        line, service_start=dt.date(2026, 3, 1), service_end=dt.date(2026, 3, 31)
    )
    next_period.save()
    assert DocumentLine.objects.filter(charge=line.charge).count() == 2


def test_a_line_cannot_end_before_it_starts():
    line = DocumentLineFactory()
    backwards = second_line_for(
        line, service_start=dt.date(2026, 3, 10), service_end=dt.date(2026, 3, 9)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        backwards.save()


def test_a_document_amount_is_never_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingDocumentFactory(amount=Decimal("-0.01"))


def test_a_credit_memo_carries_a_positive_amount():
    memo = BillingDocumentFactory(kind=BillingDocument.Kind.CREDIT_MEMO, amount=Decimal("25.00"))
    assert memo.amount == Decimal("25.00")


def test_a_posted_document_records_when():
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingDocumentFactory(status=BillingDocument.Status.POSTED, posted_at=None)


def test_a_credit_line_may_share_its_charge_lines_service_start():
    line = DocumentLineFactory(service_start=dt.date(2026, 4, 1), service_end=dt.date(2026, 4, 30))
    credit = second_line_for(line, credits=line, amount=Decimal("-100.00"))
    credit.save()  # crediting the whole line starts on the line's own first day
    assert line.credit_lines.get() == credit


def test_the_same_days_of_a_line_cannot_be_credited_twice():
    line = DocumentLineFactory(service_start=dt.date(2026, 4, 1), service_end=dt.date(2026, 4, 30))
    days = {"credits": line, "service_start": dt.date(2026, 4, 16), "amount": Decimal("-50.00")}
    second_line_for(line, **days).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        second_line_for(line, **days).save()
    # A canceled credit (its run was canceled) frees the days for the next run's credit.
    DocumentLine.objects.filter(credits=line).update(canceled=True)
    second_line_for(line, **days).save()
    assert DocumentLine.objects.filter(credits=line, canceled=False).count() == 1
