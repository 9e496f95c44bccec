"""django-q2 entry points: ids in, one service call. Every task is safe to run twice."""

from billruns import execution, services
from billruns.models import BillRun
from core.errors import DomainError


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
    return _finish(services.finish_posting, run_id, actor_id)


def finish_cancel(run_id: int, actor_id: int | None = None) -> str:
    return _finish(services.finish_cancel, run_id, actor_id)


def _finish(finish, run_id: int, actor_id: int | None) -> str:
    """A posting or cancel in a worker. A refusal (the run went back, saying why in its
    History and on its page) is the task's result, not a failure to retry."""
    try:
        run = finish(run_id=run_id, acting_user=_user(actor_id))
    except DomainError as error:
        return f"bill run {run_id}: {error}"
    return f"bill run {run.number}: {run.status}"


def email_run_documents(run_id: int, resend: bool = False, asked_at: str | None = None) -> str:
    """`asked_at` (ISO 8601): when a resend was asked for; what was emailed since is not
    sent again."""
    import datetime as dt

    from billruns import emails

    sent = emails.send_run_documents(
        BillRun.objects.get(pk=run_id),
        resend=resend,
        asked_at=dt.datetime.fromisoformat(asked_at) if asked_at else None,
    )
    return f"bill run {run_id}: {sent} documents emailed"


def recover() -> str:
    """The watchdog's backstop pass, once a minute (billruns.recovery; the worker processes'
    own watchdog threads run it every few seconds)."""
    from billruns.recovery import recover

    return str(recover())


def execute_schedule(schedule_id: int) -> str:
    from billruns.schedules import services as schedules

    run = schedules.execute_schedule(schedule_id=schedule_id)
    return f"schedule {schedule_id}: {run.number if run else 'no run today'}"


def start_preview(preview_id: int) -> str:
    from billruns.preview import services as previews

    started = previews.start_preview(preview_id=preview_id)
    return f"preview {preview_id} {'started' if started else 'was not pending'}"


def preview_chunk(chunk_id: int) -> str:
    from billruns.preview.execution import preview_chunk

    result = preview_chunk(chunk_id=chunk_id)
    if result is None:
        return f"preview chunk {chunk_id}: nothing to do"
    return f"preview chunk {chunk_id}: {result.accounts} accounts, {result.lines} lines"


def delete_old_previews() -> str:
    from billruns.preview import services as previews

    return f"{previews.delete_old_previews()} previews older than 180 days deleted"


def prepare_review(run_id: int, attempt: int) -> str:
    from billruns.review import services as review

    prepared = review.prepare_review(run_id=run_id, attempt=attempt)
    return f"review of bill run {run_id}: {'prepared' if prepared else 'nothing to do'}"
