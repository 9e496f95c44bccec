"""What a bill run says when one of its documents is posted or set back to Draft: the
`RunGate` that invoicing.services calls (connected in BillrunsConfig.ready)."""

import datetime as dt

from billruns.errors import IllegalTransition
from billruns.models import BillRun
from billruns.services.lifecycle import Action, allowed_statuses, can, move, record


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
        _note(document, actor=actor, now=now, message=f"{document} posted")

    def after_unpost(self, document, *, actor, now: dt.datetime) -> None:
        message = f"{document} set back to Draft"
        run = BillRun.objects.only("number", "status").get(pk=document.bill_run_id)
        if not move(
            run, Action.UNPOST_DOCUMENT, actor=actor, now=now, message=message, updated_by=actor
        ):
            _note(document, actor=actor, now=now, message=message)


def _note(document, *, actor, now: dt.datetime, message: str) -> None:
    """A History row that changes no status: what happened to one of the run's documents."""
    run = BillRun.objects.only("number", "status").get(pk=document.bill_run_id)
    record(run, from_status=run.status, to_status=run.status, actor=actor, now=now, message=message)
