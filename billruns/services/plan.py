"""Start a bill run: Pending → Processing, its scope cut into chunks of account ids, queued."""

import datetime as dt
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from billruns.models import BillRun, BillRunChunk
from billruns.selectors import run_scope
from billruns.services.finalize import finalize_bill_run, notify_finished
from billruns.services.lifecycle import Action, can, move

logger = logging.getLogger(__name__)


def start_bill_run(
    *,
    run_id: int,
    now: dt.datetime | None = None,
    enqueue: bool = True,
    chunk_size: int | None = None,
) -> bool:
    """Pending → Processing: cut the scope into chunks of account ids and queue them.

    The claim and the plan are one transaction: a worker dying half way leaves the run Pending
    for the task's redelivery or the sweeper. Returns False when the run was not Pending
    (another worker started it, or it was canceled). With enqueue=False the caller bills the
    chunks itself (`create_bill_run --wait`, the benchmark). `chunk_size` defaults to the
    BILLCYCLE_CHUNK_SIZE setting.
    """
    now = now or timezone.now()
    run = BillRun.objects.get(pk=run_id)
    if not can(run, Action.START):
        return False  # cheap early exit; the move below is the real guard
    try:
        with transaction.atomic():
            chunks = _plan_chunks(run, chunk_size or settings.BILLCYCLE_CHUNK_SIZE)
            plural = "s" if len(chunks) != 1 else ""
            if not move(
                run,
                Action.START,
                now=now,
                message=f"{len(chunks)} chunk{plural} planned",
                executed_at=now,
                chunks_total=len(chunks),
            ):
                transaction.set_rollback(True)
                return False
            BillRunChunk.objects.bulk_create(chunks, batch_size=1_000)
            chunk_ids = [c.pk for c in chunks]
            if enqueue:
                transaction.on_commit(lambda: _enqueue_chunks(chunk_ids))
    except Exception as error:  # the run itself cannot proceed
        logger.exception("Planning %s failed", run.number)
        message = f"Planning failed: {error}"[:2000]
        with transaction.atomic():
            if move(
                run,
                Action.FAIL_PLANNING,
                now=now,
                message=message,
                error_message=message,
                completed_at=now,
            ):
                transaction.on_commit(lambda: notify_finished(run.pk))
        return True
    if not chunks:
        finalize_bill_run(run_id=run.pk, now=now)
    return True


def _plan_chunks(run: BillRun, chunk_size: int) -> list[BillRunChunk]:
    return [
        BillRunChunk(bill_run=run, sequence=sequence, first_account_id=first, last_account_id=last)
        for sequence, (first, last) in enumerate(account_ranges(run_scope(run), chunk_size))
    ]


def account_ranges(accounts: QuerySet, chunk_size: int) -> Iterator[tuple[int, int]]:
    """The first and last id of each `chunk_size` accounts of the scope, in id order: walked
    with a server-side cursor, so memory stays flat (a bill run's and a preview's plan)."""
    first = last = None
    count = 0
    for account_id in accounts.order_by("id").values_list("id", flat=True).iterator(10_000):
        if first is None:
            first = account_id
        last = account_id
        count += 1
        if count == chunk_size:
            yield first, last
            first, count = None, 0
    if first is not None:
        yield first, last


def _enqueue_chunks(chunk_ids: list[int]) -> None:
    for chunk_id in chunk_ids:
        async_task("billruns.tasks.bill_chunk", chunk_id)
