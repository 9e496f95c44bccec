"""The variance review's writes: a run's threshold, and its prepared facts (ReviewEntry rows,
billruns/review/models.py), asked for when the run completes or when its tab finds them missing
or stale, and filled by a django-q2 task."""

import datetime as dt
import logging
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max
from django.utils import timezone
from django_q.tasks import async_task

from billruns.errors import BillRunError
from billruns.models import BillRun, BillRunEvent
from billruns.review.models import ReviewEntry, ReviewPreparation
from core.bulk import refresh_statistics
from invoicing.models import BillingDocument, DocumentLine

logger = logging.getLogger(__name__)

MAX_THRESHOLD = Decimal("99999.99")
# The runs whose documents are all written and not voided: the review is of these.
REVIEW_STATUSES = frozenset(
    {BillRun.Status.COMPLETED, BillRun.Status.POST_IN_PROGRESS, BillRun.Status.POSTED}
)
# A preparation fills a chunk in well under a second; one that has not moved for this long
# lost its worker (or waits behind a queue this long) and is asked for again.
STUCK_AFTER = dt.timedelta(minutes=10)
# Run chunks filled per transaction. The entries' indexes take them in random order, so each
# commit writes most of the index pages it touched: on SQLite at 1,000,000 accounts, 1 chunk
# (1,000 accounts) a transaction filled the run in 58 s, 20 in 19 s; a transaction then holds
# SQLite's write lock for about half a second.
FILL_CHUNKS = 20
# Old entries deleted per transaction when a review is prepared again.
DELETE_BATCH = 20_000


def set_review_threshold(*, run: BillRun, percent: Decimal, acting_user) -> Decimal:
    """Set the percentage above which the Review tab flags a change; returns the one it
    replaced. Any status may have one: it decides nothing about billing. The prepared facts do
    not depend on it (the tab compares their change with the threshold).

    Only the field is written: `updated_by` names who resumes a stopped posting or cancel, and
    `updated_at` is what the watchdog reads, so a threshold must move neither.
    """
    if not Decimal(0) <= percent <= MAX_THRESHOLD:
        raise BillRunError(f"The review threshold is a percentage from 0 to {MAX_THRESHOLD}.")
    previous = run.review_threshold_percent
    BillRun.objects.filter(pk=run.pk).update(review_threshold_percent=percent)
    run.review_threshold_percent = percent
    logger.info(
        "Review threshold of %s: %s %% → %s %% by %s",
        run.number,
        previous,
        percent,
        getattr(acting_user, "username", None) or "the system",
    )
    return previous


# -- asking for a preparation ---------------------------------------------------------------------


def needs_preparing(preparation: ReviewPreparation | None, now: dt.datetime) -> bool:
    """Missing, stale (with_staleness), or preparing without moving for STUCK_AFTER."""
    if preparation is None or preparation.stale:
        return True
    stuck = preparation.updated_at < now - STUCK_AFTER
    return preparation.status == ReviewPreparation.Status.PREPARING and stuck


def request_review(*, run: BillRun, now: dt.datetime | None = None) -> ReviewPreparation:
    """The run's review preparation, asked for again (a new attempt, queued) when it
    needs_preparing; as it is otherwise.

    Called outside any transaction (a page, the run's on-commit hook): the task must find the
    row committed. In django-q2's sync mode (tests) the task has run when this returns.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            preparation = (
                ReviewPreparation.objects.with_staleness()
                .select_for_update(of=("self",))
                .filter(bill_run=run)
                .first()
            )
            if not needs_preparing(preparation, now):
                return preparation
            attempt = _new_attempt(run, preparation, now)
    except IntegrityError:  # another request created it first: that one queued it
        return ReviewPreparation.objects.get(bill_run=run)
    async_task("billruns.tasks.prepare_review", run.pk, attempt)
    return ReviewPreparation.objects.get(bill_run=run)


def _new_attempt(run: BillRun, preparation: ReviewPreparation | None, now: dt.datetime) -> int:
    # Every History entry up to here is reflected in what this attempt reads.
    events_through = BillRunEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    fresh = {
        "status": ReviewPreparation.Status.PREPARING,
        "events_through": events_through,
        "chunks_total": 0,
        "chunks_done": 0,
        "line_counts": [],
        "documents_by_currency": {},
        "requested_at": now,
        "updated_at": now,
        "prepared_at": None,
    }
    if preparation is None:
        return ReviewPreparation.objects.create(bill_run=run, **fresh).attempt
    ReviewPreparation.objects.filter(pk=run.pk).update(attempt=F("attempt") + 1, **fresh)
    return preparation.attempt + 1


def prepare_review_soon(run_id: int) -> None:
    """The run's on-commit hook once it finishes (billruns.services.finalize): a Completed
    run's review is queued at once, so the tab rarely has to wait. Never stops the hook."""
    try:
        run = BillRun.objects.get(pk=run_id)
        if run.status in REVIEW_STATUSES:
            request_review(run=run)
    except Exception:
        logger.exception("Could not queue the review of bill run %s", run_id)


# -- the preparation (a task) --------------------------------------------------------------------


def prepare_review(*, run_id: int, attempt: int) -> bool:
    """Fill the run's ReviewEntry rows: the entries of an older attempt deleted, then one
    INSERT … SELECT per batch of the run's chunks (the whole run at once when it has none),
    then its histogram: Ready. False when there was nothing to do: done already, or a newer
    attempt replaced this one.

    Resumable and safe to run twice: every transaction first moves the preparation row on from
    the state it read (a conditional UPDATE, which also locks it), so a worker of a replaced
    attempt, or a second worker of this one, stops there; a re-delivered task goes on from the
    last batch done. Each batch is its own transaction, so bill runs writing meanwhile wait at
    most that long for SQLite's write lock.
    """
    preparation = ReviewPreparation.objects.filter(
        pk=run_id, attempt=attempt, status=ReviewPreparation.Status.PREPARING
    ).first()
    if preparation is None:
        return False
    run = preparation.bill_run
    if run.status not in REVIEW_STATUSES:
        return False  # canceled meanwhile: it has no review
    mine = ReviewPreparation.objects.filter(
        pk=run_id, attempt=attempt, status=ReviewPreparation.Status.PREPARING
    )
    ranges = fill_ranges(run)
    mine.update(chunks_total=len(ranges))
    if preparation.chunks_done == 0 and not _delete_entries(run, mine):
        return False
    refresh_statistics(BillingDocument)  # the fill's plans need them on PostgreSQL
    for done in range(preparation.chunks_done, len(ranges)):
        with transaction.atomic():
            if not mine.filter(chunks_done=done).update(
                chunks_done=done + 1, updated_at=timezone.now()
            ):
                return False
            _fill(run, ranges[done])
    histogram = (
        ReviewEntry.objects.filter(bill_run=run)
        .values("line_count")
        .annotate(documents=Count("pk"))
        .order_by("line_count")
        .values_list("line_count", "documents")
    )
    by_currency = (
        ReviewEntry.objects.filter(bill_run=run)
        .values("currency")
        .annotate(documents=Count("pk"))
        .order_by()
        .values_list("currency", "documents")
    )
    now = timezone.now()
    ready = mine.filter(chunks_done=len(ranges)).update(
        status=ReviewPreparation.Status.READY,
        line_counts=[list(row) for row in histogram],
        documents_by_currency=dict(by_currency),
        prepared_at=now,
        updated_at=now,
    )
    refresh_statistics(ReviewEntry)
    return bool(ready)


def _delete_entries(run: BillRun, mine) -> bool:
    """Delete the run's entries (an older attempt's), DELETE_BATCH a transaction, each after
    checking that this attempt still has not filled anything; False when it was replaced."""
    while True:
        with transaction.atomic():
            if not mine.filter(chunks_done=0).update(updated_at=timezone.now()):
                return False
            batch = ReviewEntry.objects.filter(bill_run=run).values("pk")[:DELETE_BATCH]
            deleted, _ = ReviewEntry.objects.filter(pk__in=batch).delete()
        if deleted < DELETE_BATCH:
            return True


def fill_ranges(run: BillRun) -> list[tuple[int, int] | None]:
    """The account ranges the preparation fills one transaction at a time: FILL_CHUNKS of the
    run's chunks each (contiguous in account id order, so together one range), or the whole
    run (None) when it has no chunks."""
    chunks = list(
        run.chunks.order_by("sequence").values_list("first_account_id", "last_account_id")
    )
    batches = [chunks[i : i + FILL_CHUNKS] for i in range(0, len(chunks), FILL_CHUNKS)]
    return [(batch[0][0], batch[-1][1]) for batch in batches] or [None]


def _fill(run: BillRun, account_range: tuple[int, int] | None) -> None:
    """The entries of the run's documents (not Canceled) of one account range, or all."""
    params = [
        BillingDocument.Kind.CREDIT_MEMO,
        BillingDocument.Status.CANCELED,
        run.pk,
        run.pk,
        BillingDocument.Status.CANCELED,
        *(account_range or ()),
        BillingDocument.Kind.CREDIT_MEMO,
        run.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(fill_sql(connection.vendor, in_range=account_range is not None), params)


def fill_sql(vendor: str, *, in_range: bool) -> str:
    """INSERT … SELECT of the entries of a run's documents (of an account range).

    Each document's previous one is found once, in a MATERIALIZED common table expression, by
    one walk back of the (account, document_date) index from the document's date; its line
    count by one probe of the lines' document index. The change is computed exactly, in
    integers of thousandths (amounts have at most three decimals): |this - previous| x 100,000
    / |previous| rounded up is the change in thousandths of a percent rounded away from zero.
    SQLite's integers are exact below 2^63 (a difference below 92 billion); PostgreSQL's
    numeric always.
    """
    documents = BillingDocument._meta.db_table
    lines = DocumentLine._meta.db_table
    entries = ReviewEntry._meta.db_table
    if vendor == "postgresql":
        this, previous = "(amount * 1000)", "(previous_amount * 1000)"

        def ceil_div(n: str, d: str) -> str:
            return f"DIV({n} + {d} - 1, {d})"

    else:
        this = "CAST(ROUND(amount * 1000) AS INTEGER)"
        previous = "CAST(ROUND(previous_amount * 1000) AS INTEGER)"

        def ceil_div(n: str, d: str) -> str:
            return f"(({n}) + {d} - 1) / {d}"

    sign = f"(CASE WHEN {this} < {previous} THEN -1 WHEN {this} > {previous} THEN 1 ELSE 0 END)"
    steps = ceil_div(f"ABS({this} - {previous}) * 100000", f"ABS({previous})")
    # In a range, the run's documents come from the (account, document_date) index: "+" keeps
    # SQLite, planning without statistics, from walking the whole run's (bill_run, …) index
    # for each range instead.
    run = "+d.bill_run_id" if in_range else "d.bill_run_id"
    account_range = " AND d.account_id >= %s AND d.account_id <= %s" if in_range else ""
    return f"""
WITH run_document AS MATERIALIZED (
    SELECT d.id, d.account_id, d.currency,
           CASE WHEN d.kind = %s THEN -d.amount ELSE d.amount END AS amount,
           (SELECT COUNT(*) FROM {lines} l WHERE l.document_id = d.id) AS line_count,
           (SELECT p.id FROM {documents} p
             WHERE p.account_id = d.account_id AND p.currency = d.currency
               AND p.document_date <= d.document_date
               AND (p.document_date < d.document_date OR p.id < d.id)
               AND p.status <> %s AND (p.bill_run_id IS NULL OR p.bill_run_id <> %s)
             ORDER BY p.document_date DESC, p.id DESC LIMIT 1) AS previous_id
    FROM {documents} d
    WHERE {run} = %s AND d.status <> %s{account_range}
), compared AS (
    SELECT d.*, CASE WHEN p.kind = %s THEN -p.amount ELSE p.amount END AS previous_amount
    FROM run_document d LEFT JOIN {documents} p ON p.id = d.previous_id
)
INSERT INTO {entries} (document_id, bill_run_id, account_id, currency, amount, previous_id,
                       previous_amount, change_percent, line_count)
SELECT id, %s, account_id, currency, amount, previous_id, previous_amount,
       CASE WHEN previous_amount IS NULL OR previous_amount = 0 THEN NULL
            ELSE {sign} * {steps} / 1000.0 END,
       line_count
FROM compared"""
