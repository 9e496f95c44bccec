"""Preview one chunk: claim it under a lease, read and rate its accounts with the bill run's
own `rating.rate_chunk` (no locks: a preview never blocks a run), then write the chunk's
CSV rows, counters and failures, and nothing else, in one short transaction.

On PostgreSQL the reads run in one REPEATABLE READ, READ ONLY transaction: a consistent
snapshot, and the database itself refuses any write. On SQLite a transaction would take the
write lock (IMMEDIATE) and hold up a run, so the reads run in autocommit.
"""

import datetime as dt
import logging
import time

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from billruns import leases
from billruns.execution import MAX_ATTEMPTS, WRITE_BATCH, ChunkResult, claimed, renew_claim
from billruns.models import BillingPreviewChunk, BillingPreviewFailure, BillingPreviewRun
from billruns.preview import result as csv_result
from billruns.preview.services import finish_preview
from billruns.rating import rate_chunk
from billruns.selectors import accounts_in_scope

logger = logging.getLogger(__name__)
Chunk = BillingPreviewChunk


class PreviewStopped(Exception):
    """The preview was canceled while the chunk was rated."""


class ChunkTakenOver(Exception):
    """Another worker claimed the chunk (our lease lapsed) meanwhile."""


def preview_chunk(*, chunk_id: int, now: dt.datetime | None = None) -> ChunkResult | None:
    """Rate a chunk of a preview; None when it was not ours (done, taken, or canceled)."""
    now = now or timezone.now()
    if not _claim(chunk_id, now=now):
        return None
    chunk = Chunk.objects.select_related("preview", "preview__account").get(pk=chunk_id)
    started = time.monotonic()
    try:
        if chunk.attempts > MAX_ATTEMPTS:
            raise RuntimeError(f"Its worker stopped {chunk.attempts - 1} times while rating it.")
        with leases.Heartbeat(lambda: renew_claim(chunk), name=f"preview chunk {chunk.pk}"):
            result = _rate(chunk, started=started)
    except (PreviewStopped, ChunkTakenOver):
        return None
    except Exception as error:
        logger.exception("Chunk %s of %s failed", chunk.sequence, chunk.preview.number)
        if not connection.in_atomic_block:
            close_old_connections()
        _failed(chunk, error, now=now)
        return None
    finish_preview(preview_id=chunk.preview_id)
    return result


def _claim(chunk_id: int, *, now: dt.datetime) -> bool:
    """Pending (or Running under a lapsed lease) → Running with a fresh lease, for a
    Processing preview; True if ours (started_at is the claim's token)."""
    claimable = Q(status=Chunk.Status.PENDING) | Q(status=Chunk.Status.RUNNING, lease_until__lt=now)
    if not Chunk.objects.filter(claimable, pk=chunk_id).update(
        status=Chunk.Status.RUNNING,
        started_at=now,
        lease_until=leases.until(now),
        attempts=F("attempts") + 1,
    ):
        return False
    if BillingPreviewRun.objects.filter(
        chunks__pk=chunk_id, status=BillingPreviewRun.Status.PROCESSING
    ).exists():
        return True
    Chunk.objects.filter(pk=chunk_id, status=Chunk.Status.RUNNING).update(
        status=Chunk.Status.PENDING, attempts=F("attempts") - 1
    )
    return False


def _rate(chunk: Chunk, *, started: float) -> ChunkResult:
    preview = chunk.preview
    result = ChunkResult()
    account_range = (chunk.first_account_id, chunk.last_account_id)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            rated = rate_chunk(preview.terms, account_range, lock=False, split=result.split)
    else:
        rated = rate_chunk(preview.terms, account_range, lock=False, split=result.split)
    result.accounts = len(rated.accounts)
    for rating in rated.ratings:
        if rating.document is not None:
            draft = rating.document
            result.add_document(draft.kind, draft.currency, draft.amount)
    result.late_usage = sum(len(rating.late_usage_ids) for rating in rated.ratings)
    result.failures = len(rated.failures)
    rows, result.lines = csv_result.chunk_rows(rated)
    result.split.lap("build")
    with transaction.atomic():
        BillingPreviewFailure.objects.bulk_create(
            [
                BillingPreviewFailure(
                    preview=preview,
                    account_id=account_id,
                    subscription_id=error.subscription_id,
                    charge_id=error.charge_id,
                    error_code=error.code,
                    message=error.message,
                )
                for account_id, error in rated.failures
            ],
            batch_size=WRITE_BATCH,
        )
        if not claimed(chunk).update(
            status=Chunk.Status.DONE,
            finished_at=timezone.now(),
            duration_ms=int((time.monotonic() - started) * 1000),
            number_of_lines=result.lines,
            csv_rows=rows,
            error_message="",
            **result.counters(),
        ):
            raise ChunkTakenOver
        if not BillingPreviewRun.objects.filter(
            pk=preview.pk, status=BillingPreviewRun.Status.PROCESSING
        ).update(chunks_done=F("chunks_done") + 1, updated_at=timezone.now()):
            raise PreviewStopped
    result.split.lap("write")
    return result


def _failed(chunk: Chunk, error: Exception, *, now: dt.datetime) -> None:
    """Give the chunk back for a retry, or after MAX_ATTEMPTS count it as failed, its accounts
    listed as failures (a run could not say what they would bill either)."""
    message = f"{type(error).__name__}: {error}"[:2000]
    if chunk.attempts < MAX_ATTEMPTS:
        if claimed(chunk).update(status=Chunk.Status.PENDING, error_message=message):
            async_task("billruns.tasks.preview_chunk", chunk.pk)
        return
    preview = chunk.preview
    with transaction.atomic():
        account_ids = list(
            accounts_in_scope(preview.terms)
            .filter(id__range=(chunk.first_account_id, chunk.last_account_id))
            .values_list("id", flat=True)
        )
        if not claimed(chunk).update(
            status=Chunk.Status.FAILED,
            error_message=message,
            finished_at=now,
            number_of_accounts=len(account_ids),
            number_of_failures=len(account_ids),
        ):
            return
        BillingPreviewFailure.objects.bulk_create(
            [
                BillingPreviewFailure(
                    preview=preview,
                    account_id=account_id,
                    error_code="chunk_failed",
                    message=f"The chunk of this account could not be rated: {message}",
                )
                for account_id in account_ids
            ],
            batch_size=WRITE_BATCH,
        )
        BillingPreviewRun.objects.filter(
            pk=preview.pk, status=BillingPreviewRun.Status.PROCESSING
        ).update(chunks_done=F("chunks_done") + 1, updated_at=now)
    finish_preview(preview_id=preview.pk)
