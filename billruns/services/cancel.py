"""Cancel a bill run: Pending, Completed or Error → CancelInProgress → Canceled. Its documents
are voided, its lines freed for rebilling, its charges' cursors and its usage rolled back."""

import datetime as dt

from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from accounts.models import Charge, UsageRecord
from billruns import changes
from billruns.errors import IllegalTransition
from billruns.models import BillRun
from billruns.services.lifecycle import Action, can, claim_then_finish, move, refuse
from core.bulk import BulkWriter
from core.iterables import batched
from invoicing.models import BillingDocument, DocumentLine

ROLLBACK_BATCH = 5_000


def cancel_bill_run(
    *, run: BillRun, acting_user, now: dt.datetime | None = None, background: bool = False
) -> BillRun:
    """Cancel the run (its sources: TRANSITIONS[Action.CANCEL]) → CancelInProgress → Canceled.

    The claim is immediate; the roll back (documents canceled, their lines freed for rebilling,
    the charges' charged_through rolled back to before the run's first line and its usage
    returned to Pending, in one transaction) runs here, or in a worker with background=True.
    """

    def refuse_unless_cancelable() -> None:
        # Locked: posting one of its documents locks the run too, so none is posted meanwhile.
        if not can(BillRun.objects.select_for_update().get(pk=run.pk), Action.CANCEL):
            raise refuse(run, Action.CANCEL)
        if BillingDocument.objects.filter(
            bill_run=run, status=BillingDocument.Status.POSTED
        ).exists():
            raise IllegalTransition(
                f"{run.number} has posted documents: set them back to Draft before canceling."
            )

    return claim_then_finish(
        run,
        Action.CANCEL,
        acting_user=acting_user,
        now=now or timezone.now(),
        background=background,
        finish=finish_cancel,
        before_claim=refuse_unless_cancelable,
    )


def finish_cancel(*, run_id: int, acting_user=None, now: dt.datetime | None = None) -> BillRun:
    """CancelInProgress → Canceled, in one transaction under the run's lock; safe to run twice."""
    now = now or timezone.now()
    with transaction.atomic():
        run = BillRun.objects.select_for_update().get(pk=run_id)
        if not can(run, Action.FINISH_CANCEL):
            return run
        _roll_back_run(run)
        move(
            run,
            Action.FINISH_CANCEL,
            actor=acting_user,
            now=now,
            canceled_at=now,
            canceled_by=acting_user,
        )
    run.refresh_from_db()
    return run


def _roll_back_run(run: BillRun) -> None:
    """Free the run's lines for rebilling, move its charges' cursors back and undo its renewals.

    Charges go in batches of ROLLBACK_BATCH, so memory does not grow with the run. A charge the
    run billed goes back to the day before this run's first line, or to the end of its last
    line from an earlier run when that is earlier (a usage period with no records writes no
    line); null when the run billed from the charge's first day (never billed). A charge the run
    credited back goes forward again to the end of what it credited. A cursor is moved only if
    it still stands where this run left it; otherwise another run is billing the charge right
    now and the whole cancel is refused.
    """
    lines = DocumentLine.objects.filter(document__bill_run=run, canceled=False)
    per_charge = (
        lines.values("charge_id")
        .annotate(
            first=Min("service_start"),
            last=Max("service_end"),
            charge_lines=Count("id", filter=Q(credits__isnull=True)),
        )
        .order_by("charge_id")
        .values_list("charge_id", "first", "last", "charge_lines")
    )
    writer = BulkWriter()
    for batch in batched(per_charge.iterator(chunk_size=ROLLBACK_BATCH), ROLLBACK_BATCH):
        ids = [charge_id for charge_id, *_ in batch]
        others = DocumentLine.objects.filter(charge_id__in=ids, canceled=False).exclude(
            document__bill_run=run
        )
        firsts = {charge_id: first for charge_id, first, *_ in batch}
        later = others.filter(service_start__gt=min(firsts.values())).values_list(
            "charge_id", "service_start", "document__number"
        )
        for charge_id, start, number in later:
            if start > firsts[charge_id]:
                raise IllegalTransition(
                    f"{number} bills a later period of a charge this run billed: cancel the "
                    "later run first."
                )
        before = dict(
            others.filter(credits__isnull=True)
            .values("charge_id")
            .annotate(last=Max("service_end"))
            .values_list("charge_id", "last")
        )
        starts = dict(Charge.objects.filter(id__in=ids).values_list("id", "effective_start"))
        moves = []
        for charge_id, first, last, charge_lines in batch:
            from_start = first <= starts[charge_id]
            day_before = None if from_start else first - dt.timedelta(days=1)
            if not charge_lines:  # only credits: forward again to what they credited
                moves.append((charge_id, day_before, last))
                continue
            if charge_id in before:
                back = before[charge_id] if from_start else min(before[charge_id], day_before)
            else:
                back = day_before
            moves.append((charge_id, last, back))
        if writer.move_cursor(Charge, "charged_through", moves, kind="date") != len(moves):
            raise IllegalTransition(
                f"Another run is billing charges of {run.number} right now: cancel again when "
                "it has finished."
            )
    changes.roll_back_renewals(run)
    UsageRecord.objects.filter(line__document__bill_run=run).update(
        status=UsageRecord.Status.PENDING, line=None
    )
    lines.update(canceled=True)
    BillingDocument.objects.filter(bill_run=run).update(status=BillingDocument.Status.CANCELED)
