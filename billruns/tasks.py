"""django-q2 entry points: ids in, one service call. Every task is safe to run twice."""

from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from billruns import execution, services
from billruns.models import BillRun, BillRunChunk
from billruns.services.lifecycle import TRANSITIONS, Action


def start_bill_run(run_id: int) -> str:
    started = services.start_bill_run(run_id=run_id)
    return f"bill run {run_id} {'started' if started else 'was not pending'}"


def bill_chunk(chunk_id: int) -> str:
    result = execution.bill_chunk(chunk_id=chunk_id)
    if result is None:
        return f"chunk {chunk_id}: nothing to do"
    return f"chunk {chunk_id}: {result.accounts} accounts, {result.failures} failures"


def _user(user_id):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def finish_posting(run_id: int, actor_id: int | None = None) -> str:
    run = services.finish_posting(run_id=run_id, acting_user=_user(actor_id))
    return f"bill run {run.number}: {run.status}"


def finish_cancel(run_id: int, actor_id: int | None = None) -> str:
    run = services.finish_cancel(run_id=run_id, acting_user=_user(actor_id))
    return f"bill run {run.number}: {run.status}"


def email_run_documents(run_id: int) -> str:
    from billruns import emails

    sent = emails.send_run_documents(BillRun.objects.get(pk=run_id))
    return f"bill run {run_id}: {sent} documents emailed"


def requeue_stale_chunks() -> str:
    """Pick up work that a dead worker or a lost task left behind. Every 5 minutes.

    Re-queues runs still Pending, chunks still Running (their worker died) or still Pending
    (their task was lost) after the stale timeout, and finalises runs whose chunks are all done
    (the finishing worker died before finalising). Claims are conditional, so anything queued
    twice is done once.
    """
    now = timezone.now()
    stale = now - execution.STALE_AFTER
    processing = BillRun.objects.filter(status=BillRun.Status.PROCESSING)
    runs = list(
        BillRun.objects.filter(status=BillRun.Status.PENDING, created_at__lt=stale).values_list(
            "id", flat=True
        )[:100]
    )
    for run_id in runs:
        async_task("billruns.tasks.start_bill_run", run_id)
    chunks = list(
        BillRunChunk.objects.filter(bill_run__in=processing, bill_run__executed_at__lt=stale)
        .filter(
            Q(status=BillRunChunk.Status.RUNNING, started_at__lt=stale)
            | Q(status=BillRunChunk.Status.PENDING)
        )
        .values_list("id", flat=True)[:1000]
    )
    for chunk_id in chunks:
        async_task("billruns.tasks.bill_chunk", chunk_id)
    # A posting or a cancel whose worker died: resume it (both are safe to run twice).
    resumed = 0
    for task, action in (
        ("billruns.tasks.finish_posting", Action.FINISH_POSTING),
        ("billruns.tasks.finish_cancel", Action.FINISH_CANCEL),
    ):
        stopped = BillRun.objects.filter(
            status__in=TRANSITIONS[action].sources, updated_at__lt=stale
        )
        for run_id in stopped.values_list("id", flat=True)[:100]:
            async_task(task, run_id)
            resumed += 1
    finished = 0
    for run_id in processing.filter(chunks_done__gte=F("chunks_total")).values_list(
        "id", flat=True
    ):
        finished += services.finalize_bill_run(run_id=run_id)
    return (
        f"{len(runs)} runs and {len(chunks)} chunks queued again, {resumed} postings or "
        f"cancels resumed, {finished} runs finalised"
    )


def execute_schedule(schedule_id: int) -> str:
    from billruns.schedules import services as schedules

    run = schedules.execute_schedule(schedule_id=schedule_id)
    return f"schedule {schedule_id}: {run.number if run else 'no run today'}"
