"""Post a bill run: Completed → PostInProgress → Posted, every Draft document made final."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from billruns.errors import BillRunError
from billruns.models import BillRun
from billruns.services.lifecycle import Action, can, claim_then_finish, move
from invoicing.models import BillingDocument

POST_BATCH = 5_000


def post_bill_run(
    *, run: BillRun, acting_user, now: dt.datetime | None = None, background: bool = False
) -> BillRun:
    """Post the run (from TRANSITIONS[Action.POST]) → PostInProgress → Posted: every Draft
    document of the run becomes Posted.

    The claim is immediate; the posting itself runs here, or in a worker with background=True
    (pages: a million documents take longer than a web request may).
    """
    return claim_then_finish(
        run,
        Action.POST,
        acting_user=acting_user,
        now=now or timezone.now(),
        background=background,
        finish=finish_posting,
    )


def finish_posting(*, run_id: int, acting_user=None, now: dt.datetime | None = None) -> BillRun:
    """PostInProgress → Posted, batch by batch. Safe to run twice (a redelivered task, the
    sweep): each batch posts only Draft documents and the last move is conditional. If posting
    fails part way the run returns to Completed and posting again posts the rest."""
    now = now or timezone.now()
    run = BillRun.objects.get(pk=run_id)
    if not can(run, Action.FINISH_POSTING):
        return run
    drafts = BillingDocument.objects.filter(bill_run=run, status=BillingDocument.Status.DRAFT)
    try:
        while True:
            with transaction.atomic():
                ids = list(drafts.order_by("id").values_list("id", flat=True)[:POST_BATCH])
                if not ids:
                    break
                BillingDocument.objects.filter(
                    id__in=ids, status=BillingDocument.Status.DRAFT
                ).update(
                    status=BillingDocument.Status.POSTED,
                    posted_at=now,
                    posted_by=acting_user,
                    updated_at=now,
                )
                # A heartbeat: the sweep resumes only postings that stopped moving.
                BillRun.objects.filter(pk=run_id).update(updated_at=timezone.now())
    except Exception as error:
        move(
            run,
            Action.STOP_POSTING,
            actor=acting_user,
            message=f"Posting stopped: {error}",
        )
        raise BillRunError(f"Posting {run.number} stopped part way: {error}") from error
    with transaction.atomic():
        moved = move(
            run,
            Action.FINISH_POSTING,
            actor=acting_user,
            now=now,
            posted_at=now,
            posted_by=acting_user,
        )
        if moved and run.auto_email:
            transaction.on_commit(lambda: async_task("billruns.tasks.email_run_documents", run.pk))
    run.refresh_from_db()
    return run
