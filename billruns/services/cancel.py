"""Cancel a bill run: Pending, Completed or Error → CancelInProgress → Canceled. Its documents
are voided, its lines freed for rebilling, every cursor it moved put back exactly where it found
it, its usage returned to Pending and its renewals undone."""

import datetime as dt

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from accounts.models import Account, Charge, UsageRecord
from billruns import changes
from billruns.cursors import before_from_lines
from billruns.errors import IllegalTransition
from billruns.leases import LeaseLost, RunLease
from billruns.models import BillRun, CursorMove
from billruns.services.lifecycle import (
    TRANSITIONS,
    Action,
    can,
    claim_then_finish,
    move,
    refuse,
)
from billruns.services.post import chunk_ranges, in_range
from core.bulk import BulkWriter, refresh_statistics
from invoicing.models import BillingDocument, DocumentLine

Range = tuple[int, int] | None  # a chunk's account ids; None: the rest of the run


def cancel_bill_run(
    *, run: BillRun, acting_user, now: dt.datetime | None = None, background: bool = False
) -> BillRun:
    """Cancel the run (its sources: TRANSITIONS[Action.CANCEL]) → CancelInProgress → Canceled.
    Asked again while CancelInProgress, it goes on where it stopped.

    The claim is immediate; the roll back runs here, or in a worker with background=True.
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
    """CancelInProgress → Canceled, chunk by chunk, each chunk's roll back its own transaction,
    under the run's lease; resumable from `rolled_back_through` and safe to run twice.

    First a read-only check of every chunk still to roll back: if a cursor no longer stands
    where this run left it (a later run billed or credited the same charges), nothing is
    changed and the run returns to the status it came from, the reason in its History. Should
    a later run slip in after the check, the cancel stops at that chunk the same way.
    """
    now = now or timezone.now()
    lease = RunLease(BillRun, run_id)
    if not lease.take(now, status__in=TRANSITIONS[Action.FINISH_CANCEL].sources):
        return BillRun.objects.get(pk=run_id)  # canceled already, or another worker is at it
    run = BillRun.objects.select_related("updated_by").get(pk=run_id)  # where it stopped
    actor = acting_user or run.updated_by
    refresh_statistics(BillingDocument, DocumentLine, UsageRecord, Charge, CursorMove)
    ranges = chunk_ranges(run, after=run.rolled_back_through)
    try:
        for account_range in ranges:
            if problem := _conflict(run, account_range, _restores(run, account_range)):
                raise IllegalTransition(problem)
            lease.renew(timezone.now())  # a long check must not lose the run to a takeover
        for done, account_range in enumerate(ranges):
            with transaction.atomic():
                if problem := _roll_back(run, account_range):
                    if done:
                        problem += f" ({done} of {len(ranges)} chunks were rolled back first)"
                    raise IllegalTransition(problem)
                lease.renew(timezone.now(), rolled_back_through=account_range[1])
        with transaction.atomic():
            if problem := _roll_back(run, None):
                raise IllegalTransition(problem)
            move(
                run,
                Action.FINISH_CANCEL,
                actor=actor,
                now=now,
                condition=lease.held(),
                canceled_at=now,
                canceled_by=actor,
                lease_until=None,
                rolled_back_through=None,
            )
    except LeaseLost:
        pass  # it lapsed and another worker goes on
    except (OperationalError, InterfaceError):
        # A lost connection or a lock timeout is no reason to give up: the lease lapses and
        # the watchdog (or asking again) goes on from the last chunk rolled back.
        raise
    except Exception as error:
        # A cancel that cannot finish gives the run back where it came from, saying why.
        move(
            run,
            Action.STOP_CANCEL,
            actor=actor,
            message=f"Cancel stopped: {error}",
            condition=lease.held(),
            lease_until=None,
        )
        if isinstance(error, IllegalTransition):
            raise
        raise IllegalTransition(f"Canceling {run.number} stopped: {error}") from error
    run.refresh_from_db()
    return run


def _restores(run: BillRun, account_range: Range) -> dict[int, tuple]:
    """charge → (where this run left its cursor, where it found it), for the charges of the
    account range: read off the run's charge lines, or from the CursorMove the chunk wrote
    where the lines cannot say it (billruns/cursors.py)."""
    lines = DocumentLine.objects.filter(document__in=_documents(run, account_range))
    spans = (
        lines.values("charge_id", "charge__effective_start")
        .annotate(
            first=Min("service_start", filter=Q(credits__isnull=True)),
            last=Max("service_end", filter=Q(credits__isnull=True)),
            credited_from=Min("service_start", filter=Q(credits__isnull=False)),
            credited_to=Max("service_end", filter=Q(credits__isnull=False)),
        )
        .order_by()
        .values_list(
            "charge_id", "charge__effective_start", "first", "last", "credited_from", "credited_to"
        )
    )
    restores = {}
    for charge_id, start, first, last, credited_from, credited_to in spans:
        if first is not None:
            restores[charge_id] = (last, before_from_lines(first, start))
        else:
            # Only credits, and no CursorMove (a run billed before moves were recorded): it
            # had moved the cursor back to the day before what it credited.
            restores[charge_id] = (before_from_lines(credited_from, start), credited_to)
    if account_range is not None:  # moves are written by chunks, inside their ranges
        moves = CursorMove.objects.filter(bill_run=run, account_id__range=account_range)
        for charge_id, before, after in moves.values_list("charge_id", "before", "after"):
            restores[charge_id] = (after, before)
    return restores


def _conflict(run: BillRun, account_range: Range, restores: dict[int, tuple]) -> str:
    """Why the cursors of `restores` cannot be put back: a sentence naming the first charge
    whose cursor moved since this run left it, and the run that moved it; "" when none did."""
    if not restores:
        return ""
    current = in_range(Charge.objects.all(), "account_id", account_range)
    if account_range is None:
        current = current.filter(id__in=list(restores))
    moved = sorted(
        charge_id
        for charge_id, through in current.values_list("id", "charged_through")
        if charge_id in restores and restores[charge_id][0] != through
    )
    if not moved:
        return ""
    charge = Charge.objects.get(pk=moved[0])
    later = (
        DocumentLine.objects.filter(charge=charge, canceled=False)
        .exclude(document__bill_run=run)
        .order_by("-service_start")
        .values_list("document__number", "document__bill_run__number")
        .first()
    )
    if later:
        number, other_run = later
        return (
            f"{number}{f' of {other_run}' if other_run else ''} bills or credits charge "
            f"{charge.number} after {run.number}: cancel {other_run or number} first."
        )
    return (
        f"Charge {charge.number} is billed through {charge.charged_through or 'nothing'}, not "
        f"{restores[charge.pk][0]} where {run.number} left it."
    )


def _roll_back(run: BillRun, account_range: Range) -> str:
    """Roll back the run's work on an account range (in the caller's transaction): cursors,
    renewals, usage, lines, documents. Returns why it could not ("" when done)."""
    if account_range is not None and connection.features.has_select_for_update:
        # A chunk of another run locks the same accounts, in the same (id) order: the two
        # never interleave and never deadlock.
        list(
            Account.objects.filter(id__range=account_range)
            .order_by("id")
            .select_for_update()
            .values_list("id", flat=True)
        )
    restores = _restores(run, account_range)
    moves = [(charge_id, after, before) for charge_id, (after, before) in restores.items()]
    if BulkWriter().move_cursor(Charge, "charged_through", moves, kind="date") != len(moves):
        transaction.set_rollback(True)
        return _conflict(run, account_range, restores) or (
            f"A cursor of {run.number}'s charges moved while it was being canceled."
        )
    changes.roll_back_renewals(run, account_range=account_range)
    documents = _documents(run, account_range)
    UsageRecord.objects.filter(line__document__in=documents).update(
        status=UsageRecord.Status.PENDING, line=None
    )
    DocumentLine.objects.filter(document__in=documents).update(canceled=True)
    documents.update(status=BillingDocument.Status.CANCELED, updated_at=timezone.now())
    return ""


def _documents(run: BillRun, account_range: Range):
    """The run's documents not yet canceled (of an account range): what is left to roll back.
    A document and its lines are canceled in one transaction, so their lines are too; the
    (bill_run, kind, status) index finds what is left once every chunk is done."""
    documents = BillingDocument.objects.filter(bill_run=run).exclude(
        status=BillingDocument.Status.CANCELED
    )
    return in_range(documents, "account_id", account_range)
