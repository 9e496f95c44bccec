"""Two email tasks of one run at once (the last draft posted on its own queues one; the operator's
*Email documents*, or the same run posted again after an unpost, queues another) must not send a
customer the same document twice."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from billruns import emails
from invoicing import services as document_services
from invoicing.models import BillingDocument
from tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db
FEB1 = dt.date(2026, 2, 1)


def test_two_email_tasks_of_one_run_at_once_send_each_document_once(
    run_now, user, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    for price in ("10.00", "20.00"):
        ChargeFactory(
            price=Decimal(price),
            effective_start=FEB1,
            subscription__account__bill_to_email="ap@example.com",
        )
    run = run_now(auto_email=True)
    first, second = BillingDocument.objects.filter(bill_run=run).order_by("amount")
    document_services.post_document(document=first, acting_user=user)
    original = emails._document_message
    other_worker = []

    def message_while_another_worker_sends(document, lines):
        # While this task draws its first PDF, a second task of the same run runs (another
        # qcluster worker): it reads the same documents, none of them marked emailed yet.
        if not other_worker:
            other_worker.append(True)
            emails.send_run_documents(run)
        return original(document, lines)

    monkeypatch.setattr(emails, "_document_message", message_while_another_worker_sends)
    with django_capture_on_commit_callbacks(execute=True):
        document_services.post_document(document=second, acting_user=user)  # the last draft
    sent = Counter(message.subject for message in mailoutbox if message.to == ["ap@example.com"])
    assert sent == {f"Invoice {first.number}": 1, f"Invoice {second.number}": 1}


def test_a_resend_asked_twice_before_its_task_runs_sends_each_document_once(
    run_now, user, mailoutbox, django_capture_on_commit_callbacks
):
    from billruns.services.email import email_bill_run

    ChargeFactory(
        price=Decimal("10.00"),
        effective_start=FEB1,
        subscription__account__bill_to_email="ap@example.com",
    )
    run = run_now(auto_email=False)

    def to_customer():
        return [m.subject for m in mailoutbox if m.to == ["ap@example.com"]]

    (document,) = BillingDocument.objects.filter(bill_run=run)
    document_services.post_document(document=document, acting_user=user)
    with django_capture_on_commit_callbacks(execute=True):
        email_bill_run(run=run, acting_user=user)
    assert len(to_customer()) == 1
    # The operator clicks Resend twice; both tasks run after both clicks.
    with django_capture_on_commit_callbacks() as queued:
        email_bill_run(run=run, acting_user=user, resend=True)
        email_bill_run(run=run, acting_user=user, resend=True)
    for callback in queued:
        callback()
    assert to_customer() == [f"Invoice {document.number}"] * 2
    # A resend asked later sends it again.
    with django_capture_on_commit_callbacks(execute=True):
        email_bill_run(run=run, acting_user=user, resend=True)
    assert len(to_customer()) == 3
