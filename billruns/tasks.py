"""django-q2 entry points: ids in, one service call. Every task is safe to run twice."""

from django.utils import timezone
from django_q.tasks import async_task

from billruns import execution, services
from billruns.models import BillRun, BillRunChunk


def start_bill_run(run_id: int) -> str:
    started = services.start_bill_run(run_id=run_id)
    return f"bill run {run_id} {'started' if started else 'was not pending'}"


def bill_chunk(chunk_id: int) -> str:
    result = execution.bill_chunk(chunk_id=chunk_id)
    if result is None:
        return f"chunk {chunk_id}: nothing to do"
    return f"chunk {chunk_id}: {result.accounts} accounts, {result.failures} failures"


def requeue_stale_chunks() -> str:
    """Re-queue chunks a dead worker left Running (or whose task was lost) for Processing runs.

    Scheduled every few minutes; claiming is conditional, so a chunk queued twice bills once.
    """
    now = timezone.now()
    stale = BillRunChunk.objects.filter(
        bill_run__status=BillRun.Status.PROCESSING,
        status=BillRunChunk.Status.RUNNING,
        started_at__lt=now - execution.STALE_AFTER,
    ).values_list("id", flat=True)
    ids = list(stale[:1000])
    for chunk_id in ids:
        async_task("billruns.tasks.bill_chunk", chunk_id)
    return f"{len(ids)} stale chunks queued again"
