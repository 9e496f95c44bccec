"""The bill run's state machine (DESIGN §4): one table, one way to move, one History.

`TRANSITIONS` is the only place that says which statuses an action starts from and where it
goes. Services enforce it with `move()` (a conditional UPDATE, so two workers or two clicks can
never both make a transition, plus the History row) and `refuse()`; pages ask `can()` and
`available_actions()` which buttons to show.
"""

import dataclasses
import datetime as dt
from collections.abc import Callable
from enum import StrEnum

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from billruns import events, leases
from billruns.errors import IllegalTransition
from billruns.models import BillRun, BillRunEvent
from invoicing.models import BillingDocument

DELETED = "Deleted"  # the to_status of the History row written when a run is removed


class Action(StrEnum):
    CREATE = "create"
    START = "start"
    FAIL_PLANNING = "fail_planning"
    BILL_CHUNK = "bill_chunk"
    COMPLETE = "complete"
    FAIL = "fail"
    TERMINATE = "terminate"
    POST = "post"
    FINISH_POSTING = "finish_posting"
    STOP_POSTING = "stop_posting"
    CANCEL = "cancel"
    FINISH_CANCEL = "finish_cancel"
    STOP_CANCEL = "stop_cancel"
    DELETE = "delete"
    RETRY = "retry"
    POST_DOCUMENT = "post_document"
    POST_LAST_DOCUMENT = "post_last_document"
    UNPOST_DOCUMENT = "unpost_document"


RETURN = "<the status it came from>"  # a target: back where the in-progress status began


@dataclasses.dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]  # in the order the refusal names them
    target: str | None  # None: the action leaves the run's status as it is
    verb: str  # "… only Completed runs can be {verb}."
    permission: str = ""  # what a user needs to ask for it from a page
    event: str = ""  # the outward event it announces once committed (billruns.events)


TRANSITIONS: dict[Action, Transition] = {
    Action.CREATE: Transition(("",), BillRun.Status.PENDING, "created", "billruns.add_billrun"),
    Action.START: Transition((BillRun.Status.PENDING,), BillRun.Status.PROCESSING, "started"),
    Action.COMPLETE: Transition(
        (BillRun.Status.PROCESSING,), BillRun.Status.COMPLETED, "completed", event=events.COMPLETED
    ),
    Action.FAIL_PLANNING: Transition(
        (BillRun.Status.PENDING,), BillRun.Status.ERROR, "planned", event=events.ERROR
    ),
    # Chunks are billed (claimed, and counted done) only while their run is Processing.
    Action.BILL_CHUNK: Transition((BillRun.Status.PROCESSING,), None, "billed"),
    Action.FAIL: Transition(
        (BillRun.Status.PROCESSING,), BillRun.Status.ERROR, "failed", event=events.ERROR
    ),
    Action.TERMINATE: Transition(
        (BillRun.Status.PROCESSING,),
        BillRun.Status.COMPLETED,
        "terminated",
        "billruns.terminate_billrun",
        event=events.COMPLETED,
    ),
    # From PostInProgress: asked again, the posting goes on where it stopped.
    Action.POST: Transition(
        (BillRun.Status.COMPLETED, BillRun.Status.POST_IN_PROGRESS),
        BillRun.Status.POST_IN_PROGRESS,
        "posted",
        "billruns.post_billrun",
    ),
    Action.FINISH_POSTING: Transition(
        (BillRun.Status.POST_IN_PROGRESS,), BillRun.Status.POSTED, "posted", event=events.POSTED
    ),
    Action.STOP_POSTING: Transition(
        (BillRun.Status.POST_IN_PROGRESS,), BillRun.Status.COMPLETED, "stopped"
    ),
    # From CancelInProgress: asked again, the cancel goes on where it stopped.
    Action.CANCEL: Transition(
        (
            BillRun.Status.PENDING,
            BillRun.Status.COMPLETED,
            BillRun.Status.ERROR,
            BillRun.Status.CANCEL_IN_PROGRESS,
        ),
        BillRun.Status.CANCEL_IN_PROGRESS,
        "canceled",
        "billruns.cancel_billrun",
    ),
    Action.FINISH_CANCEL: Transition(
        (BillRun.Status.CANCEL_IN_PROGRESS,), BillRun.Status.CANCELED, "canceled"
    ),
    # A cancel that cannot finish (a later run billed the same charges) gives the run back.
    Action.STOP_CANCEL: Transition((BillRun.Status.CANCEL_IN_PROGRESS,), RETURN, "stopped"),
    Action.DELETE: Transition(
        (BillRun.Status.CANCELED, BillRun.Status.ERROR),
        DELETED,
        "deleted",
        "billruns.delete_billrun",
    ),
    # Makes a new run for the failed accounts; this one stays as it is.
    Action.RETRY: Transition(
        (BillRun.Status.COMPLETED, BillRun.Status.ERROR, BillRun.Status.POSTED),
        None,
        "retried",
        "billruns.add_billrun",
    ),
    # A run's documents are posted one by one only from a Completed run.
    Action.POST_DOCUMENT: Transition((BillRun.Status.COMPLETED,), None, "posted"),
    # Symmetrically, a Completed run whose last Draft document is posted on its own is Posted
    # (DESIGN §4): all its documents are final, and nothing is left for its Post button.
    Action.POST_LAST_DOCUMENT: Transition(
        (BillRun.Status.COMPLETED,), BillRun.Status.POSTED, "posted", event=events.POSTED
    ),
    # A Posted run that loses a posted document is Completed again.
    Action.UNPOST_DOCUMENT: Transition(
        (BillRun.Status.POSTED,), BillRun.Status.COMPLETED, "unposted"
    ),
}


def can(run: BillRun, action: Action, *, user=None) -> bool:
    """Whether the run's status allows `action` (and, given a user, whether they may ask)."""
    transition = TRANSITIONS[action]
    if run.status not in transition.sources:
        return False
    return user is None or not transition.permission or user.has_perm(transition.permission)


def available_actions(run: BillRun, *, user, documents: dict[str, int]) -> dict[str, bool]:
    """The buttons of the run's page. `documents` counts the run's documents per status; the
    services check the same conditions again, under a lock, when a button is pressed."""
    posted = documents.get(BillingDocument.Status.POSTED, 0)
    not_canceled = sum(
        n for status, n in documents.items() if status != BillingDocument.Status.CANCELED
    )
    # An in-progress posting or cancel is offered again only when no worker is at it.
    resumable = leases.unattended(run.lease_until, run.updated_at, timezone.now())
    return {
        "post": can(run, Action.POST, user=user)
        and (run.status != BillRun.Status.POST_IN_PROGRESS or resumable),
        "cancel": can(run, Action.CANCEL, user=user)
        and not posted
        and (run.status != BillRun.Status.CANCEL_IN_PROGRESS or resumable),
        "terminate": can(run, Action.TERMINATE, user=user),
        "delete": can(run, Action.DELETE, user=user) and not not_canceled,
        "retry": can(run, Action.RETRY, user=user) and run.has_failures,
    }


def allowed_statuses(action: Action) -> str:
    """`action`'s source statuses as a sentence says them: "Pending, Completed or Error"."""
    sources = [BillRun.Status(source).label for source in TRANSITIONS[action].sources if source]
    return " or ".join(filter(None, [", ".join(sources[:-1]), sources[-1]]))


def refuse(run: BillRun, action: Action) -> IllegalTransition:
    """The refusal of `action` for the run's current status, read afresh."""
    run.refresh_from_db(fields=["status"])
    return IllegalTransition(
        f"{run.number} is {run.get_status_display()}: only {allowed_statuses(action)} runs can "
        f"be {TRANSITIONS[action].verb}."
    )


def move(
    run: BillRun,
    action: Action,
    *,
    actor=None,
    now: dt.datetime | None = None,
    message: str = "",
    condition: Q | None = None,
    **fields,
) -> bool:
    """Make `action`'s transition if the run is still in one of its sources, set `fields`,
    and write the History row; False (nothing written) when the run was not there.

    With several sources the row is locked first to learn which one it leaves. `condition`
    narrows the claim further (finalising needs every chunk done).
    """
    transition = TRANSITIONS[action]
    now = now or timezone.now()
    target = transition.target
    with transaction.atomic():
        source = transition.sources[0]
        if len(transition.sources) > 1:
            source = (
                BillRun.objects.select_for_update()
                .filter(pk=run.pk)
                .values_list("status", flat=True)
                .first()
            )
            # A run already in the target (asked again) is resumed by claim_then_finish,
            # never moved onto itself.
            if source not in transition.sources or source == target:
                return False
        if target == RETURN:
            target = came_from(run, source)
        claim = BillRun.objects.filter(pk=run.pk, status=source)
        moved = (claim.filter(condition) if condition is not None else claim).update(
            status=target, updated_at=now, **fields
        )
        if not moved:
            return False
        record(
            run,
            from_status=source,
            to_status=target,
            actor=actor,
            now=now,
            message=message,
        )
        events.announce(transition.event, run.pk)
    run.status = target
    return True


def came_from(run: BillRun, status: str) -> str:
    """The status the run had before it entered `status` (an in-progress one), from History."""
    return (
        BillRunEvent.objects.filter(bill_run=run, to_status=status)
        .exclude(from_status=status)
        .order_by("-at", "-id")
        .values_list("from_status", flat=True)
        .first()
    ) or BillRun.Status.COMPLETED


def record(
    run: BillRun, *, from_status: str, to_status: str, actor=None, now=None, message: str = ""
) -> BillRunEvent:
    """One History row. `move()` writes it for every transition; creation, deletion and the
    posting of one document, which move no existing status, write it here directly."""
    return BillRunEvent.objects.create(
        bill_run=run,
        bill_run_number=run.number,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        at=now or timezone.now(),
        message=message,
    )


class InProgress(IllegalTransition):
    """Asked again while a live worker is already doing it: nothing to do but wait."""


def claim_then_finish(
    run: BillRun,
    action: Action,
    *,
    acting_user,
    now: dt.datetime,
    background: bool,
    finish: Callable[..., BillRun],
    before_claim: Callable[[], None] | None = None,
) -> BillRun:
    """Claim `action` (posting, canceling) now; do the long part with `finish` here, or, with
    background=True, in a worker (the task of the same name in billruns.tasks) once the claim
    commits. `before_claim` runs first in the claim's transaction and may refuse.

    Asked again while the run is already in the action's in-progress status, it goes on where
    the last worker stopped, with the asking user acting for the rest; if a worker is still at
    it (its lease is live) InProgress says so.
    """
    transition = TRANSITIONS[action]
    with transaction.atomic():
        current = BillRun.objects.select_for_update().get(pk=run.pk)
        if current.status == transition.target:
            if not leases.unattended(current.lease_until, current.updated_at, now):
                raise InProgress(
                    f"{run.number} is being {transition.verb} by a worker right now; "
                    "it finishes by itself."
                )
            label = current.get_status_display()
            record(run, from_status=current.status, to_status=current.status,
                   actor=acting_user, now=now, message=f"Asked again: {label.lower()} resumed")  # fmt: skip
            BillRun.objects.filter(pk=run.pk).update(updated_by=acting_user, updated_at=now)
        else:
            if before_claim is not None:
                before_claim()
            if not move(run, action, actor=acting_user, now=now, updated_by=acting_user):
                raise refuse(run, action)
        if background:
            task, actor_id = f"billruns.tasks.{finish.__name__}", getattr(acting_user, "pk", None)
            transaction.on_commit(lambda: async_task(task, run.pk, actor_id))
    if background:
        run.refresh_from_db()
        return run
    finished = finish(run_id=run.pk, acting_user=acting_user, now=now)
    if finished.status == transition.target:  # a worker took it over first and is at it
        raise InProgress(
            f"{run.number} is being {transition.verb} by a worker right now; it finishes by itself."
        )
    return finished
