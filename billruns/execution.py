"""The hot path: bill one chunk of a run's accounts.

Per chunk, whatever its size: claim it (one conditional UPDATE), then in ONE transaction lock
its accounts, read them, their open charges and their pending usage (three queries), rate them
in memory, and write documents, lines, cursors, usage and failures with bulk statements. A
failing account becomes a BillRunFailure; the rest of the chunk goes on. Re-running a chunk
writes nothing twice: the lock makes a second writer wait, and it then reads cursors already
advanced (the unique line constraint is the last guard).
"""

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import Charge, UsageRecord
from billruns import changes, leases
from billruns.amounts import amounts_json, no_amounts
from billruns.cursors import needs_record
from billruns.models import AccountRangeChunk, BillRun, BillRunChunk, BillRunFailure, CursorMove
from billruns.rating import Split, rate_chunk
from billruns.selectors import run_scope
from billruns.services.finalize import finalize_bill_run
from billruns.services.lifecycle import TRANSITIONS, Action
from billruns.terms import RunTerms
from core.bulk import BulkWriter
from invoicing.models import BillingDocument, DocumentLine
from invoicing.rating.engine import (
    AccountRating,
    ChargeInput,
)
from invoicing.rating.terms import DocumentKind

logger = logging.getLogger(__name__)
BILLING = TRANSITIONS[Action.BILL_CHUNK]

# A chunk is given up (its accounts listed as failed) after this many claims: exceptions, or
# workers that died billing it (a chunk that kills its worker must not kill every worker).
MAX_ATTEMPTS = 3
WRITE_BATCH = 1_000


class RunStopped(Exception):
    """The run left Processing while the chunk was being billed."""


class CursorMoved(Exception):
    """A cursor changed under the chunk; it rolls back and is billed again from fresh reads."""


class ChunkTakenOver(Exception):
    """Another worker claimed the chunk (our lease lapsed) while this one was billing it."""


@dataclass
class ChunkResult:
    accounts: int = 0
    invoices: int = 0
    zero_amount_invoices: int = 0
    credit_memos: int = 0
    failures: int = 0
    lines: int = 0
    late_usage: int = 0
    amounts: dict = field(default_factory=dict)  # currency → {"invoice": D, "credit_memo": D}
    split: "Split" = field(default_factory=lambda: Split())  # where the chunk's time went

    def add_document(self, kind: str, currency: str, amount: Decimal) -> None:
        totals = self.amounts.setdefault(currency, no_amounts())
        if kind == DocumentKind.INVOICE:
            self.invoices += 1
            self.zero_amount_invoices += amount == 0
            totals["invoice"] += amount
        else:
            self.credit_memos += 1
            totals["credit_memo"] += amount

    def counters(self) -> dict:
        """The chunk's RunCounters fields."""
        return {
            "number_of_accounts": self.accounts,
            "number_of_invoices": self.invoices,
            "number_of_zero_amount_invoices": self.zero_amount_invoices,
            "number_of_credit_memos": self.credit_memos,
            "number_of_failures": self.failures,
            "number_of_late_usage": self.late_usage,
            "amounts_by_currency": amounts_json(self.amounts),
        }


def claim_chunk(chunk_id: int, *, now: dt.datetime) -> bool:
    """Pending (or Running under a lapsed lease) → Running with a fresh lease, for a Processing
    run; True if ours. `started_at` is the claim's token.

    The UPDATE filters on the chunk's own columns only. With a join (a subquery on
    PostgreSQL) a second worker that waited for the first one's row lock would re-check only
    `id IN (…)` from its old snapshot and claim the chunk a second time.
    """
    claimable = Q(status=BillRunChunk.Status.PENDING) | Q(
        status=BillRunChunk.Status.RUNNING, lease_until__lt=now
    )
    claimed = BillRunChunk.objects.filter(claimable, pk=chunk_id).update(
        status=BillRunChunk.Status.RUNNING,
        started_at=now,
        lease_until=leases.until(now),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return False
    if BillRun.objects.filter(chunks__pk=chunk_id, status__in=BILLING.sources).exists():
        return True
    # Terminated or canceled meanwhile: hand the chunk back untouched.
    BillRunChunk.objects.filter(pk=chunk_id, status=BillRunChunk.Status.RUNNING).update(
        status=BillRunChunk.Status.PENDING, attempts=F("attempts") - 1
    )
    return False


def bill_chunk(*, chunk_id: int, now: dt.datetime | None = None) -> ChunkResult | None:
    """Bill a chunk; None when it was not ours to bill (done, taken, or the run stopped)."""
    now = now or timezone.now()
    if not claim_chunk(chunk_id, now=now):
        return None
    # The run's account and retried run too: its scope (RunTerms.of_run) reads both.
    chunk = BillRunChunk.objects.select_related(
        "bill_run", "bill_run__account", "bill_run__retry_of"
    ).get(pk=chunk_id)
    started = time.monotonic()
    try:
        if chunk.attempts > MAX_ATTEMPTS:
            raise ChunkAbandoned(f"Its worker stopped {chunk.attempts - 1} times while billing it.")
        with leases.Heartbeat(lambda: renew_claim(chunk), name=f"chunk {chunk.pk}"):
            result = _write_chunk(chunk, now=now, started=started)
    except RunStopped:
        claimed(chunk).update(status=BillRunChunk.Status.PENDING)
        return None
    except ChunkTakenOver:
        return None  # our lease lapsed and another worker took the chunk over; it bills it
    except CursorMoved:
        # An expected race, not a failure: another run moved a cursor this chunk read. Hand the
        # chunk back without spending an attempt and bill it again from fresh reads.
        logger.info("Chunk %s of %s billed again: a cursor moved", chunk.sequence, chunk.bill_run)
        if claimed(chunk).update(status=BillRunChunk.Status.PENDING, attempts=F("attempts") - 1):
            async_task("billruns.tasks.bill_chunk", chunk.pk)
        return None
    except Exception as error:
        logger.exception("Chunk %s of %s failed", chunk.sequence, chunk.bill_run.number)
        # A connection the server dropped (it was terminated, or restarted) is replaced
        # before the chunk is handed back (never inside a caller's transaction).
        if not connection.in_atomic_block:
            close_old_connections()
        _chunk_failed(chunk, error, now=now)
        return None
    finalize_bill_run(run_id=chunk.bill_run_id)
    return result


class ChunkAbandoned(Exception):
    """The chunk was claimed MAX_ATTEMPTS times by workers that died billing it."""


def claimed(chunk: AccountRangeChunk):
    """The chunk (a run's or a preview's), if it is still Running under our claim (its
    started_at is the token)."""
    return type(chunk).objects.filter(
        pk=chunk.pk, status=AccountRangeChunk.Status.RUNNING, started_at=chunk.started_at
    )


def renew_claim(chunk: AccountRangeChunk) -> bool:
    """The heartbeat's beat: extend our lease; False once the chunk is no longer ours."""
    return bool(claimed(chunk).update(lease_until=leases.until(timezone.now())))


def _chunk_failed(chunk: BillRunChunk, error: Exception, *, now: dt.datetime) -> None:
    """Give the chunk back for a retry, or after MAX_ATTEMPTS count it as failed.

    A failed chunk's accounts are recorded as failures, so they are on the Failed tab and
    "Retry failed accounts" bills them.
    """
    message = f"{type(error).__name__}: {error}"[:2000]
    if chunk.attempts < MAX_ATTEMPTS and not isinstance(error, ChunkAbandoned):
        if claimed(chunk).update(status=BillRunChunk.Status.PENDING, error_message=message):
            async_task("billruns.tasks.bill_chunk", chunk.pk)
        return
    run = chunk.bill_run
    with transaction.atomic():
        account_ids = list(
            run_scope(run)
            .filter(id__range=(chunk.first_account_id, chunk.last_account_id))
            .values_list("id", flat=True)
        )
        if not claimed(chunk).update(
            status=BillRunChunk.Status.FAILED,
            error_message=message,
            finished_at=now,
            number_of_accounts=len(account_ids),
            number_of_failures=len(account_ids),
        ):
            return
        BillRunFailure.objects.bulk_create(
            [
                BillRunFailure(
                    bill_run=run,
                    account_id=account_id,
                    error_code="chunk_failed",
                    message=f"The chunk of this account could not be written: {message}",
                )
                for account_id in account_ids
            ],
            batch_size=WRITE_BATCH,
        )
        BillRun.objects.filter(pk=run.pk).update(chunks_done=F("chunks_done") + 1, updated_at=now)
    finalize_bill_run(run_id=run.pk)


def _write_chunk(chunk: BillRunChunk, *, now: dt.datetime, started: float) -> ChunkResult:
    run = chunk.bill_run
    result = ChunkResult()
    split = result.split
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A chunk is all or nothing, so a commit lost in a server crash only means the
            # chunk (its documents, numbers and Done status alike) is billed again after the
            # stale timeout; meanwhile no worker waits for the WAL flush. Later synchronous
            # commits (finalisation, posting) flush everything before them.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        rated = rate_chunk(
            RunTerms.of_run(run),
            (chunk.first_account_id, chunk.last_account_id),
            lock=True,
            split=split,
        )
        result.accounts = len(rated.accounts)
        ratings = rated.ratings
        failures = [
            BillRunFailure(
                bill_run=run,
                account_id=account_id,
                subscription_id=error.subscription_id,
                charge_id=error.charge_id,
                error_code=error.code,
                message=error.message,
            )
            for account_id, error in rated.failures
        ]
        terms = {account["id"]: account for account in rated.accounts}
        documents = _write_documents(run, ratings, terms, rated.charges, result)
        if not changes.write_renewals(run, rated.renewals, writer=BulkWriter(), now=now):
            raise CursorMoved("A subscription's term changed while the chunk was billed.")
        result.late_usage = sum(len(rating.late_usage_ids) for rating in ratings)
        BillRunFailure.objects.bulk_create(failures, batch_size=WRITE_BATCH)
        result.failures = len(failures)
        duration_ms = int((time.monotonic() - started) * 1000)
        finished = claimed(chunk).update(
            status=BillRunChunk.Status.DONE,
            finished_at=timezone.now(),
            duration_ms=duration_ms,
            number_of_lines=result.lines,
            **result.counters(),
            error_message="",
        )
        if not finished:
            raise ChunkTakenOver  # undo everything: the worker that took over bills it
        counted = BillRun.objects.filter(pk=run.pk, status__in=BILLING.sources).update(
            chunks_done=F("chunks_done") + 1, updated_at=now
        )
        if not counted:
            raise RunStopped  # terminated meanwhile: this chunk's work is undone
        if connection.vendor == "postgresql":
            _number_last(documents)
        split.lap("write")
    split.lap("commit")
    return result


DOCUMENT_COLUMNS = (
    "id", "kind", "number", "account_id", "bill_run_id", "currency", "document_date",
    "target_date", "due_date", "amount", "status", "created_at", "updated_at",
)  # fmt: skip
LINE_COLUMNS = (
    "id", "document_id", "charge_id", "subscription_id", "charge_type", "description",
    "service_start", "service_end", "quantity", "unit_price", "amount", "canceled", "credits_id",
)  # fmt: skip


def _write_documents(
    run: BillRun,
    ratings: list[AccountRating],
    terms: dict,
    read: dict[int, ChargeInput],
    result: ChunkResult,
) -> None:
    """Documents, lines, usage, cursors and the cursor moves the lines cannot tell (for an
    exact cancel): three inserts and two updates, whatever the size. Returns the document
    rows; on PostgreSQL they are numbered last (`_number_last`)."""
    writer = BulkWriter()
    split = result.split
    rated = [rating for rating in ratings if rating.document is not None]
    line_count = sum(len(rating.document.lines) for rating in rated)
    document_ids = writer.reserve_ids(BillingDocument, len(rated))
    line_ids = iter(writer.reserve_ids(DocumentLine, line_count))
    split.lap("write")
    # Rows go to the driver as they are ("prepared"): decimals, dates, numbers and text need no
    # conversion on either database, and the one timestamp is converted once.
    now = writer.prepare_value(timezone.now())
    documents, lines, usage = [], [], []
    billed = UsageRecord.Status.BILLED
    spans: dict[int, tuple[dt.date, dt.date]] = {}  # charge → its charge lines' first/last day
    for rating, document_id in zip(rated, document_ids, strict=True):
        draft = rating.document
        result.add_document(draft.kind, draft.currency, draft.amount)
        term_days = terms[rating.account_id]["payment_term_days"]
        documents.append([
            document_id, draft.kind, None, rating.account_id, run.pk,
            draft.currency, run.invoice_date, run.target_date,
            run.invoice_date + dt.timedelta(days=term_days), draft.amount,
            BillingDocument.Status.DRAFT, now, now,
        ])  # fmt: skip
        for line in draft.lines:
            # A LineDraft is a tuple in LINE_COLUMNS' order, from charge_id to amount.
            line_id = next(line_ids)
            lines.append((line_id, document_id, *line[:9], False, line.credits))
            if line.usage_ids:
                usage.extend((usage_id, billed, line_id) for usage_id in line.usage_ids)
            if line.credits is None:
                start, end = line.service_start, line.service_end
                span = spans.get(line.charge_id)
                spans[line.charge_id] = (
                    (start, end) if span is None else (min(span[0], start), max(span[1], end))
                )
    moves = [
        (charge_id, read[charge_id].charged_through, through)
        for rating in ratings
        for charge_id, through in rating.charged_through.items()
    ]
    cursor_moves = [
        (run.pk, rating.account_id, charge_id, before, after)
        for rating in ratings
        for charge_id, after in rating.charged_through.items()
        if needs_record(
            (before := read[charge_id].charged_through, after),
            spans.get(charge_id),
            read[charge_id].effective_start,
        )
    ]
    split.lap("build")
    if not writer.postgres:
        # SQLite: one writer at a time anyway, so the numbers go straight into the insert.
        _number(documents)
    writer.insert(BillingDocument, DOCUMENT_COLUMNS, documents, prepared=True)
    writer.insert(DocumentLine, LINE_COLUMNS, lines, prepared=True)
    writer.update(UsageRecord, ("status", "line_id"), usage, types=("varchar", "bigint"))
    if writer.move_cursor(Charge, "charged_through", moves, kind="date") != len(moves):
        # Another transaction (a cancel) moved a cursor since this chunk read it.
        raise CursorMoved("A charge's charged_through changed while the chunk was billed.")
    writer.insert(
        CursorMove, ("bill_run_id", "account_id", "charge_id", "before", "after"), cursor_moves
    )
    result.lines = len(lines)
    return documents


def _number(documents: list[list]) -> None:
    """Give each document row (kind at 1, number at 2) the next number of its kind."""
    numbers = BillingDocument.reserve_numbers(row[1] for row in documents)
    for row in documents:
        row[2] = next(numbers[row[1]])


def _number_last(documents: list[list]) -> None:
    """PostgreSQL: number the chunk's documents as its very last statements.

    The number sequence's row stays locked from its reservation to the commit, and every
    other worker's chunk waits for it. So the documents are written without numbers, the
    deferred foreign-key checks of everything written are run first (SET CONSTRAINTS ALL
    IMMEDIATE: 20,000 lines' checks take about half a second), and only then are the numbers
    reserved and set: the lock is held for one UPDATE of the chunk's documents and the commit.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    _number(documents)
    BulkWriter().update(
        BillingDocument, ("number",), [(row[0], row[2]) for row in documents], types=("varchar",)
    )
