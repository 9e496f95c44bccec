"""What a bill run says when one of its documents is posted or set back to Draft: the
`RunGate` that invoicing.services calls (connected in BillrunsConfig.ready)."""

import datetime as dt

from django.db import transaction
from django_q.tasks import async_task

from billruns.errors import IllegalTransition
from billruns.models import BillRun
from billruns.services.lifecycle import Action, allowed_statuses, can, move, record
from invoicing.models import BillingDocument

IN_PROGRESS = (BillRun.Status.POST_IN_PROGRESS, BillRun.Status.CANCEL_IN_PROGRESS)


class DocumentsOfRuns:
    def allows_posting(self, document) -> bool:
        return can(document.bill_run, Action.POST_DOCUMENT)

    def before_post(self, document) -> None:
        # Locked: a cancel claims the run under this lock, so a document is never posted
        # while its run is being canceled.
        run = (
            BillRun.objects.select_for_update()
            .only("number", "status")
            .get(pk=document.bill_run_id)
        )
        if not can(run, Action.POST_DOCUMENT):
            raise IllegalTransition(
                f"{document} belongs to {run.number}, which is {run.get_status_display()}: "
                f"documents are posted one by one only from a {allowed_statuses(Action.POST_DOCUMENT)} "
                "run."
            )

    def after_post(self, document, *, actor, now: dt.datetime) -> None:
        """Record it; the run's last Draft posted makes the run Posted (DESIGN §4), and, as a
        posting of the whole run would, emails its documents when the run says so."""
        message = f"{document} posted"
        run = BillRun.objects.only("number", "status", "auto_email").get(pk=document.bill_run_id)
        drafts = BillingDocument.objects.filter(
            bill_run_id=run.pk, status=BillingDocument.Status.DRAFT
        )
        # The run's row is locked (before_post), so of two last drafts posted at once the second
        # sees the first one posted.
        if not drafts.exists() and move(
            run,
            Action.POST_LAST_DOCUMENT,
            actor=actor,
            now=now,
            message=f"{message}: the run's last draft, so every document is final",
            posted_at=now,
            posted_by=actor,
            updated_by=actor,
        ):
            if run.auto_email:
                transaction.on_commit(
                    lambda: async_task("billruns.tasks.email_run_documents", run.pk)
                )
            return
        _note(document, actor=actor, now=now, message=message)

    def before_unpost(self, document) -> None:
        # Locked as for a posting: of a document set back to Draft and the run's last draft
        # posted at once, the second sees the first (never a Posted run holding a Draft); and a
        # run being posted (or canceled) keeps its documents until its worker is done, or the
        # worker, past that document's batch, would make the run Posted with a Draft in it.
        run = (
            BillRun.objects.select_for_update()
            .only("number", "status")
            .get(pk=document.bill_run_id)
        )
        if run.status in IN_PROGRESS:
            raise IllegalTransition(
                f"{document} belongs to {run.number}, which is {run.get_status_display()}: "
                "set it back to Draft once that is done."
            )

    def after_unpost(self, document, *, actor, now: dt.datetime) -> None:
        message = f"{document} set back to Draft"
        run = BillRun.objects.only("number", "status").get(pk=document.bill_run_id)
        # Completed again, the run is no longer posted: no Posted date on its page, export or API.
        if not move(
            run,
            Action.UNPOST_DOCUMENT,
            actor=actor,
            now=now,
            message=message,
            updated_by=actor,
            posted_at=None,
            posted_by=None,
        ):
            _note(document, actor=actor, now=now, message=message)


def _note(document, *, actor, now: dt.datetime, message: str) -> None:
    """A History row that changes no status: what happened to one of the run's documents."""
    run = BillRun.objects.only("number", "status").get(pk=document.bill_run_id)
    record(run, from_status=run.status, to_status=run.status, actor=actor, now=now, message=message)
