"""Finish a bill run once its last chunk is done: statistics, Completed or Error, the email,
then auto-post if asked."""

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from billruns import emails
from billruns.amounts import add_amounts, amounts_json
from billruns.models import AccountRangeChunk, BillRun, BillRunChunk, RunCounters
from billruns.review.services import prepare_review_soon
from billruns.services.lifecycle import Action, can, move
from billruns.services.post import post_bill_run
from core.errors import DomainError

logger = logging.getLogger(__name__)

STATISTICS = RunCounters.COUNTS


def run_statistics(run_id: int) -> dict:
    """The run's statistics, added up in Python from its chunks (never an SQL SUM of money)."""
    return chunk_statistics(BillRunChunk.objects.filter(bill_run_id=run_id))


def chunk_statistics(chunks: QuerySet) -> dict:
    """The counters (RunCounters) of these chunks added up, money in Python, with the amounts'
    scalar totals and the number of failed chunks: a bill run's statistics or a preview's."""
    stats = dict.fromkeys(STATISTICS, 0)
    per_currency: dict[str, dict[str, Decimal]] = {}
    failed_chunks = 0
    for chunk in chunks.only("status", "amounts_by_currency", *STATISTICS):
        if chunk.status == AccountRangeChunk.Status.FAILED:
            failed_chunks += 1
        for field in STATISTICS:
            stats[field] += getattr(chunk, field)
        add_amounts(per_currency, chunk.amounts_by_currency)
    stats["amounts_by_currency"] = amounts_json(per_currency)
    # One currency: the scalar totals are that currency's. Several: amounts of different
    # currencies are never added, so the scalars stay 0 and pages show amounts_by_currency.
    single = len(per_currency) == 1
    totals = next(iter(per_currency.values())) if single else {}
    stats["invoice_amount"] = totals.get("invoice", Decimal(0))
    stats["credit_memo_amount"] = totals.get("credit_memo", Decimal(0))
    stats["failed_chunks"] = failed_chunks
    return stats


def elapsed_ms(run: BillRun, now: dt.datetime) -> int | None:
    """Processing time so far (DESIGN's total_time_ms: processing, not posting)."""
    return int((now - run.executed_at).total_seconds() * 1000) if run.executed_at else None


def finalize_bill_run(*, run_id: int, now: dt.datetime | None = None) -> bool:
    """Processing → Completed (or Error) once every chunk is done; exactly once."""
    now = now or timezone.now()
    run = BillRun.objects.get(pk=run_id)
    if not can(run, Action.COMPLETE) or run.chunks_done < run.chunks_total:
        return False
    stats = run_statistics(run_id)
    failed_chunks = stats.pop("failed_chunks")
    action, message = Action.COMPLETE, ""
    if run.chunks_total and failed_chunks == run.chunks_total:
        action, message = Action.FAIL, "No chunk could be written; see the chunks' error messages."
    elif failed_chunks:
        action = Action.FAIL
        message = f"{failed_chunks} of {run.chunks_total} chunks could not be written."
    summary = (
        f"{stats['number_of_invoices']} invoices, {stats['number_of_credit_memos']} credit "
        f"memos, {stats['number_of_failures']} failures"
    )
    with transaction.atomic():
        if not move(
            run,
            action,
            now=now,
            message=message or summary,
            # Another chunk may finalise it first; only one of them moves it.
            condition=Q(chunks_done__gte=F("chunks_total")),
            completed_at=now,
            total_time_ms=elapsed_ms(run, now),
            error_message=message,
            **stats,
        ):
            return False
        transaction.on_commit(lambda: _after_finish(run_id))
    return True


def _after_finish(run_id: int) -> None:
    notify_finished(run_id)
    prepare_review_soon(run_id)
    run = BillRun.objects.get(pk=run_id)
    if run.auto_post and can(run, Action.POST):
        try:
            post_bill_run(run=run, acting_user=None)
        except DomainError:
            logger.exception("Auto-post of %s failed", run.number)


def notify_finished(run_id: int) -> None:
    try:
        emails.send_run_finished(BillRun.objects.get(pk=run_id))
    except Exception:  # an email failure never changes the run
        logger.exception("Could not email the result of bill run %s", run_id)
