"""A billing preview run's life: Pending → Processing → Completed (or Error), or Canceled.

Every move is one conditional UPDATE on the preview's status, so two workers (or a worker and
an operator's Cancel) never both move it. Nothing here touches what a bill run writes.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django_q.tasks import async_task

from billruns import terms as run_terms
from billruns.errors import BillRunError
from billruns.models import BillingPreviewChunk, BillingPreviewRun
from billruns.selectors import accounts_in_scope
from billruns.services.finalize import chunk_statistics
from billruns.services.plan import account_ranges
from billruns.terms import RunTerms

logger = logging.getLogger(__name__)
Status = BillingPreviewRun.Status
LIMIT = 1_000  # things the watchdog queues per pass


def create_preview(
    *,
    terms: RunTerms,
    acting_user,
    idempotency_key: str | None = None,
    enqueue: bool = True,
) -> BillingPreviewRun:
    """A Pending preview of a bill run with these terms (validated as a run's are: the same
    sentences), queued once it is saved; a repeat with one idempotency key returns the first."""
    if idempotency_key:
        run_terms.check_text(idempotency_key, what="The idempotency key")
    if idempotency_key and (earlier := _created_with(idempotency_key)):
        return earlier
    terms.validate()
    if not accounts_in_scope(terms).exists():
        raise BillRunError(run_terms.EMPTY_SCOPE)
    fields = terms.model_fields()
    preview = BillingPreviewRun(
        name=fields["name"],
        target_type=fields["target_type"],
        account=fields["account"],
        batches=fields["batches"],
        bill_cycle_day=fields["bill_cycle_day"],
        charge_types=fields["charge_types"],
        invoice_date=fields["invoice_date"],
        target_date=fields["target_date"],
        created_by=acting_user,
        idempotency_key=idempotency_key or None,
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                preview.save()
        except IntegrityError:
            # Another request created it with this key between our check and insert.
            if idempotency_key and (earlier := _created_with(idempotency_key)):
                return earlier
            raise
        if enqueue:
            transaction.on_commit(lambda: async_task("billruns.tasks.start_preview", preview.pk))
    preview.just_created = True
    return preview


def _created_with(idempotency_key: str) -> BillingPreviewRun | None:
    return BillingPreviewRun.objects.filter(idempotency_key=idempotency_key).first()


def start_preview(
    *,
    preview_id: int,
    now: dt.datetime | None = None,
    enqueue: bool = True,
    chunk_size: int | None = None,
) -> bool:
    """Pending → Processing with the scope cut into chunks (as a bill run's), queued; False
    when it was not Pending (started by another worker, or canceled)."""
    now = now or timezone.now()
    preview = BillingPreviewRun.objects.select_related("account").get(pk=preview_id)
    if preview.status != Status.PENDING:
        return False
    size = chunk_size or settings.BILLCYCLE_CHUNK_SIZE
    with transaction.atomic():
        chunks = [
            BillingPreviewChunk(
                preview=preview, sequence=sequence, first_account_id=first, last_account_id=last
            )
            for sequence, (first, last) in enumerate(
                account_ranges(accounts_in_scope(preview.terms), size)
            )
        ]
        if not BillingPreviewRun.objects.filter(pk=preview.pk, status=Status.PENDING).update(
            status=Status.PROCESSING, executed_at=now, chunks_total=len(chunks), updated_at=now
        ):
            return False
        BillingPreviewChunk.objects.bulk_create(chunks, batch_size=1_000)
        chunk_ids = [chunk.pk for chunk in chunks]
        if enqueue:
            transaction.on_commit(lambda: _enqueue(chunk_ids))
    if not chunks:
        finish_preview(preview_id=preview.pk, now=now)
    return True


def _enqueue(chunk_ids: list[int]) -> None:
    for chunk_id in chunk_ids:
        async_task("billruns.tasks.preview_chunk", chunk_id)


def finish_preview(*, preview_id: int, now: dt.datetime | None = None) -> bool:
    """Processing → Completed (or Error when chunks could not be rated) once every chunk is
    done, with the totals added up from the chunks; exactly once."""
    now = now or timezone.now()
    preview = BillingPreviewRun.objects.get(pk=preview_id)
    if preview.status != Status.PROCESSING or preview.chunks_done < preview.chunks_total:
        return False
    chunks = BillingPreviewChunk.objects.filter(preview_id=preview_id)
    stats = chunk_statistics(chunks)
    failed = stats.pop("failed_chunks")
    stats.pop("invoice_amount")
    stats.pop("credit_memo_amount")
    status, message = Status.COMPLETED, ""
    if failed:
        status = Status.ERROR
        message = f"{failed} of {preview.chunks_total} chunks could not be rated."
    total_ms = int((now - preview.executed_at).total_seconds() * 1000)
    return bool(
        BillingPreviewRun.objects.filter(
            pk=preview_id, status=Status.PROCESSING, chunks_done__gte=F("chunks_total")
        ).update(
            status=status,
            error_message=message,
            completed_at=now,
            updated_at=now,
            total_time_ms=max(total_ms, 0),
            number_of_lines=chunks.aggregate(n=Sum("number_of_lines"))["n"] or 0,
            **stats,
        )
    )


def cancel_preview(*, preview: BillingPreviewRun, now: dt.datetime | None = None) -> bool:
    """Pending or Processing → Canceled: no chunk starts after this, and a chunk being rated
    keeps nothing. Raises BillRunError for a preview that has finished."""
    now = now or timezone.now()
    if BillingPreviewRun.objects.filter(pk=preview.pk, status__in=preview.LIVE_STATUSES).update(
        status=Status.CANCELED, completed_at=now, updated_at=now
    ):
        preview.refresh_from_db()
        return True
    preview.refresh_from_db()
    raise BillRunError(f"{preview.number} is {preview.status}: only a running preview is canceled.")


def delete_old_previews(now: dt.datetime | None = None) -> int:
    """The daily clean-up: previews older than KEEP_DAYS go, with their chunks and failures."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=BillingPreviewRun.KEEP_DAYS)
    deleted = 0
    while ids := list(
        BillingPreviewRun.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:100]
    ):
        # A hundred at a time: a preview's chunks hold its CSV.
        BillingPreviewRun.objects.filter(id__in=ids).delete()
        deleted += len(ids)
    return deleted


def recover_previews(now: dt.datetime, lost_before: dt.datetime | None) -> int:
    """The watchdog's share (billruns.recovery): chunks whose worker died (lapsed lease) go back
    to Pending and are queued again; previews whose queued work was lost (Pending, or
    Processing with Pending chunks, untouched since `lost_before`) are queued again, only when
    the watchdog can tell work was lost (`lost_before` not None: billruns.recovery); previews
    whose chunks are all done are finished. Returns how many things were queued or finished."""
    done = 0
    live = BillingPreviewChunk.objects.filter(preview__status=Status.PROCESSING)
    lapsed = live.filter(status=BillingPreviewChunk.Status.RUNNING, lease_until__lt=now)
    for chunk_id, token in lapsed.values_list("id", "started_at")[:LIMIT]:
        if BillingPreviewChunk.objects.filter(
            pk=chunk_id,
            status=BillingPreviewChunk.Status.RUNNING,
            started_at=token,
            lease_until__lt=now,  # not renewed meanwhile by a worker still at it
        ).update(status=BillingPreviewChunk.Status.PENDING):
            async_task("billruns.tasks.preview_chunk", chunk_id)
            done += 1
    finished = BillingPreviewRun.objects.filter(
        status=Status.PROCESSING, chunks_done__gte=F("chunks_total")
    )
    for preview_id in finished.values_list("id", flat=True)[:LIMIT]:
        done += finish_preview(preview_id=preview_id, now=now)
    if lost_before is None:
        return done  # work may only be waiting its turn: queue nothing twice
    stale = lost_before
    waiting = BillingPreviewRun.objects.filter(status=Status.PENDING, updated_at__lt=stale)
    for preview_id, touched in waiting.values_list("id", "updated_at")[:LIMIT]:
        if _touch(preview_id, touched, now):
            async_task("billruns.tasks.start_preview", preview_id)
            done += 1
    stalled = BillingPreviewRun.objects.filter(
        status=Status.PROCESSING,
        updated_at__lt=stale,
        chunks__status=BillingPreviewChunk.Status.PENDING,
    ).distinct()
    for preview_id, touched in stalled.values_list("id", "updated_at")[:LIMIT]:
        if _touch(preview_id, touched, now):
            pending = BillingPreviewChunk.objects.filter(
                preview_id=preview_id, status=BillingPreviewChunk.Status.PENDING
            ).order_by("sequence")
            _enqueue(list(pending.values_list("id", flat=True)))
            done += 1
    return done


def _touch(preview_id: int, touched: dt.datetime, now: dt.datetime) -> bool:
    """Claim the right to queue the preview's work for the next lease: one watchdog wins."""
    return bool(
        BillingPreviewRun.objects.filter(pk=preview_id, updated_at=touched).update(updated_at=now)
    )
