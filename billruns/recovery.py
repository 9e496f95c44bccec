"""The watchdog (DESIGN §6): nothing waits on a dead worker.

`recover()` runs on a thread in every qcluster worker process, every third of a lease (started
by django-q2's post_spawn signal, see BillrunsConfig.ready), and once a minute as a django-q2
schedule, the backstop. One pass:

1. chunks whose lease lapsed (their worker died) go back to Pending and are queued again;
2. work whose queue entries were lost (a killed cluster's prefetched Redis tasks, ORM-broker
   rows it had locked) is queued again: runs still Pending, and Processing runs with Pending
   chunks, when the queue is empty (or, where the broker cannot say, after a lease without
   progress), at most once a third of a lease. Only while no worker holds a live lease on a
   chunk, a posting or a cancel, so that a run merely waiting its turn behind other work is
   not queued twice;
3. postings and cancels whose lease lapsed are resumed;
4. runs whose chunks are all done but that were never finalised are finalised;
5. the same for billing preview runs (billruns.preview.services.recover_previews).

Each step claims what it queues with a conditional UPDATE, so several watchdogs at once queue
each thing once, and every task is safe to run twice anyway.
"""

import dataclasses
import datetime as dt
import logging
import multiprocessing
import threading

from django.db import connections
from django.db.models import F, Q
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

from billruns import leases
from billruns.models import BillingPreviewChunk, BillRun, BillRunChunk
from billruns.preview.services import recover_previews
from billruns.services.finalize import finalize_bill_run
from billruns.services.lifecycle import TRANSITIONS, Action

logger = logging.getLogger(__name__)
LIMIT = 1_000  # things queued per step and pass; the next pass takes the rest
RESUME_TASKS = {
    BillRun.Status.POST_IN_PROGRESS: "billruns.tasks.finish_posting",
    BillRun.Status.CANCEL_IN_PROGRESS: "billruns.tasks.finish_cancel",
}


@dataclasses.dataclass
class Recovered:
    chunks: int = 0  # lapsed leases
    runs_started: int = 0
    runs_requeued: int = 0
    resumed: int = 0  # postings and cancels
    finalised: int = 0
    previews: int = 0  # preview chunks or previews queued again, previews finished

    def __str__(self) -> str:
        return (
            f"{self.chunks} lapsed chunks and {self.runs_requeued} stalled runs queued again, "
            f"{self.runs_started} runs started, {self.resumed} postings or cancels resumed, "
            f"{self.previews} previews' work queued or finished, {self.finalised} runs finalised"
        )


def recover(now: dt.datetime | None = None) -> Recovered:
    now = now or timezone.now()
    done = Recovered()
    stale = now - leases.length()
    processing = Q(bill_run__status__in=TRANSITIONS[Action.BILL_CHUNK].sources)

    lapsed = BillRunChunk.objects.filter(
        processing, status=BillRunChunk.Status.RUNNING, lease_until__lt=now
    )
    for chunk_id, token in lapsed.values_list("id", "started_at")[:LIMIT]:
        if BillRunChunk.objects.filter(
            pk=chunk_id, status=BillRunChunk.Status.RUNNING, started_at=token, lease_until__lt=now
        ).update(status=BillRunChunk.Status.PENDING):
            async_task("billruns.tasks.bill_chunk", chunk_id)
            done.chunks += 1

    lost_before = _lost_before(now)
    if lost_before is not None:
        waiting = BillRun.objects.filter(status=BillRun.Status.PENDING, updated_at__lt=lost_before)
        for run_id, touched in waiting.values_list("id", "updated_at")[:LIMIT]:
            if _touch(run_id, touched, now):
                async_task("billruns.tasks.start_bill_run", run_id)
                done.runs_started += 1
        stalled = BillRun.objects.filter(
            status=BillRun.Status.PROCESSING,
            updated_at__lt=lost_before,
            chunks__status=BillRunChunk.Status.PENDING,
        ).distinct()
        for run_id, touched in stalled.values_list("id", "updated_at")[:LIMIT]:
            if _touch(run_id, touched, now):
                pending = BillRunChunk.objects.filter(
                    bill_run_id=run_id, status=BillRunChunk.Status.PENDING
                ).order_by("sequence")
                for chunk_id in pending.values_list("id", flat=True).iterator():
                    async_task("billruns.tasks.bill_chunk", chunk_id)
                done.runs_requeued += 1

    unattended = BillRun.objects.filter(
        leases.unattended_q(now), status__in=RESUME_TASKS, updated_at__lt=stale
    )
    for run_id, status, touched in unattended.values_list("id", "status", "updated_at")[:LIMIT]:
        if _touch(run_id, touched, now):
            async_task(RESUME_TASKS[status], run_id)
            done.resumed += 1

    finished = BillRun.objects.filter(
        status=BillRun.Status.PROCESSING, chunks_done__gte=F("chunks_total")
    )
    for run_id in finished.values_list("id", flat=True)[:LIMIT]:
        done.finalised += finalize_bill_run(run_id=run_id)

    done.previews = recover_previews(now, lost_before)
    return done


def _lost_before(now: dt.datetime) -> dt.datetime | None:
    """Pending work last touched before this has lost its queue entry; None: nothing can be
    said (a worker holds a live lease on a chunk, a posting or a cancel, or tasks are queued).

    Idle workers and an empty queue: what is still Pending lost its entry (a beat's grace for
    a task being queued right now). Where the broker cannot say, a lease without progress.
    """
    if BillRunChunk.objects.filter(
        status=BillRunChunk.Status.RUNNING, lease_until__gte=now
    ).exists():
        return None
    if BillingPreviewChunk.objects.filter(
        status=BillingPreviewChunk.Status.RUNNING, lease_until__gte=now
    ).exists():
        return None
    if BillRun.objects.filter(lease_until__gte=now).exists():
        return None
    empty = queue_is_empty()
    if empty is None:
        return now - leases.length()
    return now - dt.timedelta(seconds=leases.renewal_interval()) if empty else None


def queue_is_empty() -> bool | None:
    """Whether the broker holds no task waiting for a worker (a Redis list's length; the ORM
    broker's rows not taken by a cluster); None when it cannot tell."""
    try:
        return get_broker().queue_size() == 0
    except Exception:
        logger.warning("Could not read the task queue's size", exc_info=True)
        return None


def _touch(run_id: int, touched: dt.datetime, now: dt.datetime) -> bool:
    """Claim the right to queue the run's work for the next lease: one watchdog wins."""
    return bool(BillRun.objects.filter(pk=run_id, updated_at=touched).update(updated_at=now))


_watchdog: threading.Thread | None = None
_watchdog_lock = threading.Lock()


def start_watchdog(**signal_kwargs) -> None:
    """Run `recover()` every third of a lease on a daemon thread of this worker process (once).

    Not in django-q2's sync mode (tests, `sync=True`), which runs a task in the caller's own
    process and sends post_spawn there too.
    """
    global _watchdog
    if Conf.SYNC or multiprocessing.current_process().name == "MainProcess":
        return
    with _watchdog_lock:
        if _watchdog is not None and _watchdog.is_alive():
            return
        _watchdog = threading.Thread(target=_watch, name="billcycle watchdog", daemon=True)
        _watchdog.start()


def _watch() -> None:
    stop = threading.Event()  # never set: the thread ends with its process
    while not stop.wait(leases.renewal_interval()):
        try:
            found = recover()
            if found != Recovered():
                logger.info("Watchdog: %s", found)
        except Exception:
            logger.warning("Watchdog pass failed", exc_info=True)
            connections.close_all()
