"""Posting and unposting one document: its run decides, and its run's History records it."""

import pytest

from billruns.models import BillRun, BillRunEvent
from core.errors import IllegalTransition
from invoicing import services
from invoicing.models import BillingDocument
from tests.factories import BillingDocumentFactory, BillRunFactory, ChargeFactory

pytestmark = pytest.mark.django_db


def history(run):
    return list(
        BillRunEvent.objects.filter(bill_run=run)
        .order_by("at", "id")
        .values_list("from_status", "to_status", "actor__username", "message")
    )


def test_posting_a_document_of_a_completed_run_is_in_the_runs_history(run_now, user):
    ChargeFactory()
    ChargeFactory()  # a second document stays Draft, so the run stays Completed
    run = run_now()
    document = BillingDocument.objects.filter(bill_run=run).first()
    services.post_document(document=document, acting_user=user)
    assert history(run)[-1] == ("Completed", "Completed", "olivia", f"{document} posted")


def test_unposting_records_it_and_takes_the_posted_run_back_to_completed(run_now, user):
    from billruns import services as run_services

    ChargeFactory()
    run = run_services.post_bill_run(run=run_now(), acting_user=user)
    document = BillingDocument.objects.get(bill_run=run)
    services.unpost_document(document=document, acting_user=user)
    run.refresh_from_db()
    assert run.status == BillRun.Status.COMPLETED
    assert history(run)[-1] == ("Posted", "Completed", "olivia", f"{document} set back to Draft")


def test_a_document_of_a_run_still_processing_cannot_be_posted_alone(user):
    run = BillRunFactory(status=BillRun.Status.PROCESSING)
    document = BillingDocumentFactory(bill_run=run)
    with pytest.raises(IllegalTransition, match="only from a Completed run"):
        services.post_document(document=document, acting_user=user)
    document.refresh_from_db()
    assert document.status == BillingDocument.Status.DRAFT
    assert not services.can_post(document)


def test_a_document_outside_any_run_is_posted_without_history(user):
    document = BillingDocumentFactory()
    assert services.can_post(document)
    assert services.post_document(document=document, acting_user=user).status == "Posted"
    assert not BillRunEvent.objects.exists()
