"""A document set back to Draft while its run is being posted (PostInProgress) must not leave a
Posted run holding a Draft document (DESIGN §4: a Posted run's documents are all final)."""

import datetime as dt
from decimal import Decimal

import pytest

from billruns import services
from billruns.models import BillRun
from billruns.services import post
from core.errors import IllegalTransition
from core.iterables import batched
from invoicing import services as document_services
from invoicing.models import BillingDocument
from tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db
FEB1 = dt.date(2026, 2, 1)


def test_a_document_unposted_while_its_run_is_posted_leaves_no_draft_in_a_posted_run(
    run_now, user, settings, monkeypatch
):
    settings.BILLCYCLE_CHUNK_SIZE = 1
    ChargeFactory(price=Decimal("10.00"), effective_start=FEB1)
    ChargeFactory(price=Decimal("20.00"), effective_start=FEB1)
    run = run_now()
    assert run.chunks.count() == 2
    first = BillingDocument.objects.filter(bill_run=run).order_by("account_id").first()
    monkeypatch.setattr(post, "POST_BATCH_CHUNKS", 1)
    refused = []

    def batches_with_an_unpost_between(items, size):
        # The worker has posted the first chunk's documents; an operator on the first
        # document's page sets it back to Draft before the worker posts the second chunk.
        for index, batch in enumerate(batched(items, size)):
            if index == 1:
                first.refresh_from_db()
                assert first.status == BillingDocument.Status.POSTED
                try:
                    document_services.unpost_document(document=first, acting_user=user)
                except IllegalTransition as error:
                    refused.append(str(error))
            yield batch

    monkeypatch.setattr(post, "batched", batches_with_an_unpost_between)
    services.post_bill_run(run=run, acting_user=user)
    run.refresh_from_db()
    first.refresh_from_db()
    drafts = BillingDocument.objects.filter(bill_run=run, status="Draft").count()
    # Either the unpost is refused (the run is being posted) or the run does not end Posted.
    assert not (run.status == BillRun.Status.POSTED and drafts), (
        f"run {run.status} with {drafts} Draft document(s); unpost refused: {refused}"
    )


def test_a_posted_run_taken_back_to_completed_by_an_unpost_has_no_posted_date(run_now, user):
    """The export says Posted Date is "empty until the run is posted"; the page shows "Posted …
    by …" whenever posted_at is set: a run that is Completed again is not posted."""
    ChargeFactory(price=Decimal("10.00"), effective_start=FEB1)
    run = services.post_bill_run(run=run_now(), acting_user=user)
    assert run.status == BillRun.Status.POSTED and run.posted_at is not None
    document = BillingDocument.objects.get(bill_run=run)
    document_services.unpost_document(document=document, acting_user=user)
    run.refresh_from_db()
    assert run.status == BillRun.Status.COMPLETED
    assert (run.posted_at, run.posted_by) == (None, None)


def test_the_last_draft_posted_alone_announces_billrun_posted_once(
    run_now, user, monkeypatch, django_capture_on_commit_callbacks
):
    from billruns import events

    told = []
    monkeypatch.setattr(events, "_listeners", [lambda event, run_id: told.append(event)])
    ChargeFactory(price=Decimal("10.00"), effective_start=FEB1)
    ChargeFactory(price=Decimal("20.00"), effective_start=FEB1)
    run = run_now()
    first, second = BillingDocument.objects.filter(bill_run=run).order_by("amount")
    told.clear()  # the run's billRun.completed
    with django_capture_on_commit_callbacks(execute=True):
        document_services.post_document(document=first, acting_user=user)
    assert told == []
    with django_capture_on_commit_callbacks(execute=True):
        document_services.post_document(document=second, acting_user=user)
    assert told == [events.POSTED]
