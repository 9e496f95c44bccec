"""Every write to a bill run: one function per transition (DESIGN §4).

Each transition checks its source status with a conditional UPDATE (so two workers or two clicks
can never both make it), appends a BillRunEvent naming who acted, and defers email and queueing
to `transaction.on_commit`. Illegal transitions raise IllegalTransition, which pages show as a
message and commands print as one line.
"""

import datetime as dt
import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import BATCHES, Account, Charge, UsageRecord
from billruns.models import (
    ALL_CHARGE_TYPES,
    BillRun,
    BillRunChunk,
    BillRunEvent,
    TargetType,
)
from billruns.selectors import accounts_in_scope, run_scope
from core.bulk import BulkWriter
from core.iterables import batched
from invoicing.models import BillingDocument, DocumentLine

logger = logging.getLogger(__name__)

S = BillRun.Status
CHUNK_SIZE = 1_000
# Zuora asks for confirmation beyond a year and refuses beyond ten.
MAX_YEARS_AHEAD = 10
POST_BATCH = 5_000


class BillRunError(Exception):
    """Bad input for a bill run: the message is one line an operator understands."""


class IllegalTransition(BillRunError):
    """The run's status does not allow what was asked."""


def record_event(
    run: BillRun, *, from_status: str, to_status: str, actor=None, message: str = "", now=None
) -> BillRunEvent:
    return BillRunEvent.objects.create(
        bill_run=run,
        bill_run_number=run.number,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        at=now or timezone.now(),
        message=message,
    )


def _claim(run: BillRun, *, sources: set[str], to: str, **fields) -> bool:
    """Move the run from one of `sources` to `to` if it is still there; True if we did."""
    updated = BillRun.objects.filter(pk=run.pk, status__in=sources).update(status=to, **fields)
    return updated == 1


def _move(
    run: BillRun, *, source: str, to: str, actor=None, now: dt.datetime, message: str = "", **fields
) -> bool:
    """One transition: claim `source` → `to` and, if it was ours, write it in the History."""
    if not _claim(run, sources={source}, to=to, updated_at=now, **fields):
        return False
    record_event(run, from_status=source, to_status=to, actor=actor, now=now, message=message)
    return True


def _refuse(run: BillRun, action: str, allowed: str) -> IllegalTransition:
    run.refresh_from_db(fields=["status"])
    return IllegalTransition(
        f"{run.number} is {run.get_status_display()}: only {allowed} runs can be {action}."
    )


# -- create ----------------------------------------------------------------------------------


def create_bill_run(
    *,
    acting_user,
    invoice_date: dt.date,
    target_date: dt.date | None,
    target_type: str = TargetType.MULTIPLE_ACCOUNTS,
    account: Account | None = None,
    batches: list[str] | None = None,
    bill_cycle_day: int | None = None,
    bill_cycle_day_to: int | None = None,
    charge_types: list[str] | None = None,
    auto_post: bool = False,
    auto_email: bool = False,
    no_email_for_zero_amount: bool = False,
    name: str = "",
    run_type: str = BillRun.RunType.AD_HOC,
    schedule=None,
    retry_of: BillRun | None = None,
    idempotency_key: str | None = None,
    allow_empty_scope: bool = False,
    enqueue: bool = True,
) -> BillRun:
    """Validate and save a Pending run, then queue it once the transaction commits.

    Creating twice with one idempotency key returns the first run.
    """
    if idempotency_key:
        existing = BillRun.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    batches = list(batches or [])
    charge_types = list(charge_types or ALL_CHARGE_TYPES)
    _validate_terms(
        invoice_date=invoice_date,
        target_date=target_date,
        target_type=target_type,
        account=account,
        batches=batches,
        bill_cycle_day=bill_cycle_day,
        charge_types=charge_types,
    )
    if bill_cycle_day_to is not None and (
        bill_cycle_day is None or not bill_cycle_day <= bill_cycle_day_to <= 31
    ):
        raise BillRunError("A range of bill cycle days runs from the bill cycle day to 31.")
    if not allow_empty_scope:
        scope = accounts_in_scope(
            target_type=target_type,
            account_id=account.pk if account else None,
            batches=batches,
            bill_cycle_day=bill_cycle_day,
            retry_of_id=retry_of.pk if retry_of else None,
            bill_cycle_day_to=bill_cycle_day_to,
        )
        if not scope.exists():
            raise BillRunError("No active account matches this scope: there is nothing to bill.")
    with transaction.atomic():
        run = BillRun(
            name=name,
            run_type=run_type,
            target_type=target_type,
            account=account,
            batches=batches,
            bill_cycle_day=bill_cycle_day,
            bill_cycle_day_to=bill_cycle_day_to,
            invoice_date=invoice_date,
            target_date=target_date,
            charge_types=[t for t in ALL_CHARGE_TYPES if t in charge_types],
            auto_post=auto_post,
            auto_email=auto_email,
            no_email_for_zero_amount=no_email_for_zero_amount,
            schedule=schedule,
            retry_of=retry_of,
            idempotency_key=idempotency_key or None,
            created_by=acting_user,
            updated_by=acting_user,
        )
        try:
            with transaction.atomic():
                run.save()
        except IntegrityError:
            # Another request created the run with this key between our check and insert.
            if idempotency_key and (
                existing := BillRun.objects.filter(idempotency_key=idempotency_key).first()
            ):
                return existing
            raise
        record_event(run, from_status="", to_status=S.PENDING, actor=acting_user, message="Created")
        if enqueue:
            transaction.on_commit(lambda: async_task("billruns.tasks.start_bill_run", run.pk))
    return run


def _validate_terms(
    *, invoice_date, target_date, target_type, account, batches, bill_cycle_day, charge_types
) -> None:
    if target_date is None:
        raise BillRunError("A target date is required: charges are billed up to it.")
    if invoice_date is None:
        raise BillRunError("An invoice date is required.")
    if target_date.year > invoice_date.year + MAX_YEARS_AHEAD:
        raise BillRunError(
            f"The target date {target_date} is more than {MAX_YEARS_AHEAD} years ahead."
        )
    if not charge_types:
        raise BillRunError("Include at least one charge type.")
    unknown = [t for t in charge_types if t not in ALL_CHARGE_TYPES]
    if unknown:
        raise BillRunError(f"Unknown charge type {unknown[0]!r}: use OneTime, Recurring or Usage.")
    if target_type == TargetType.SINGLE_ACCOUNT:
        if account is None:
            raise BillRunError("A single-account run needs its account.")
        if account.status != Account.Status.ACTIVE:
            raise BillRunError(
                f"Account {account.number} is {account.status}: only Active accounts are billed."
            )
        if batches or bill_cycle_day is not None:
            raise BillRunError("A single-account run takes no batches or bill cycle day.")
    elif target_type == TargetType.MULTIPLE_ACCOUNTS:
        if account is not None:
            raise BillRunError("Only a single-account run names an account.")
    else:
        raise BillRunError(f"Unknown target type {target_type!r}.")
    bad = [b for b in batches if b not in BATCHES]
    if bad:
        raise BillRunError(f"Unknown batch {bad[0]!r}: use Batch1 … Batch50.")
    if len(set(batches)) != len(batches):
        raise BillRunError("A batch is listed twice.")
    if bill_cycle_day is not None and not 1 <= bill_cycle_day <= 31:
        raise BillRunError(f"The bill cycle day {bill_cycle_day} is not between 1 and 31.")


# -- start (plan) ----------------------------------------------------------------------------


def start_bill_run(*, run_id: int, now: dt.datetime | None = None, enqueue: bool = True) -> bool:
    """Pending → Processing: cut the scope into chunks of account ids and queue them.

    The claim and the plan are one transaction: a worker dying half way leaves the run Pending
    for the task's redelivery or the sweeper. Returns False when the run was not Pending
    (another worker started it, or it was canceled). With enqueue=False the caller bills the
    chunks itself (`create_bill_run --wait`).
    """
    now = now or timezone.now()
    run = BillRun.objects.get(pk=run_id)
    try:
        with transaction.atomic():
            if not _claim(
                run, sources={S.PENDING}, to=S.PROCESSING, executed_at=now, updated_at=now
            ):
                return False
            run.refresh_from_db()
            chunks = _plan_chunks(run)
            BillRunChunk.objects.bulk_create(chunks, batch_size=1_000)
            BillRun.objects.filter(pk=run.pk).update(chunks_total=len(chunks))
            record_event(
                run,
                from_status=S.PENDING,
                to_status=S.PROCESSING,
                now=now,
                message=f"{len(chunks)} chunk{'s' if len(chunks) != 1 else ''} planned",
            )
            chunk_ids = [c.pk for c in chunks]
            if enqueue:
                transaction.on_commit(lambda: _enqueue_chunks(chunk_ids))
    except Exception as error:  # the run itself cannot proceed
        logger.exception("Planning %s failed", run.number)
        message = f"Planning failed: {error}"[:2000]
        with transaction.atomic():
            if _move(
                run,
                source=S.PENDING,
                to=S.ERROR,
                now=now,
                message=message,
                error_message=message,
                completed_at=now,
            ):
                transaction.on_commit(lambda: _notify_finished(run.pk))
        return True
    if not chunks:
        finalize_bill_run(run_id=run.pk, now=now)
    return True


def _plan_chunks(run: BillRun) -> list[BillRunChunk]:
    """Walk the scope's ids in order with a server-side cursor; memory stays flat."""
    chunks: list[BillRunChunk] = []
    first = last = None
    count = 0
    ids = run_scope(run).order_by("id").values_list("id", flat=True)
    for account_id in ids.iterator(chunk_size=10_000):
        if first is None:
            first = account_id
        last = account_id
        count += 1
        if count == CHUNK_SIZE:
            chunks.append(_chunk(run, len(chunks), first, last))
            first, count = None, 0
    if first is not None:
        chunks.append(_chunk(run, len(chunks), first, last))
    return chunks


def _chunk(run, sequence, first, last) -> BillRunChunk:
    return BillRunChunk(
        bill_run=run, sequence=sequence, first_account_id=first, last_account_id=last
    )


def _enqueue_chunks(chunk_ids: list[int]) -> None:
    for chunk_id in chunk_ids:
        async_task("billruns.tasks.bill_chunk", chunk_id)


# -- finalize --------------------------------------------------------------------------------


def run_statistics(run_id: int) -> dict:
    """The run's statistics, added up in Python from its chunks (never an SQL SUM of money)."""
    stats = {
        "number_of_accounts": 0,
        "number_of_invoices": 0,
        "number_of_zero_amount_invoices": 0,
        "number_of_credit_memos": 0,
        "number_of_failures": 0,
    }
    per_currency: dict[str, dict[str, Decimal]] = {}
    failed_chunks = 0
    for chunk in BillRunChunk.objects.filter(bill_run_id=run_id).only(
        "status", "amounts_by_currency", *stats
    ):
        if chunk.status == BillRunChunk.Status.FAILED:
            failed_chunks += 1
        for field in stats:
            stats[field] += getattr(chunk, field)
        for currency, amounts in chunk.amounts_by_currency.items():
            totals = per_currency.setdefault(
                currency, {"invoice": Decimal(0), "credit_memo": Decimal(0)}
            )
            for kind, amount in amounts.items():
                totals[kind] += Decimal(amount)
    stats["amounts_by_currency"] = {
        currency: {kind: str(amount) for kind, amount in totals.items()}
        for currency, totals in sorted(per_currency.items())
    }
    # One currency: the scalar totals are that currency's. Several: amounts of different
    # currencies are never added, so the scalars stay 0 and pages show amounts_by_currency.
    single = len(per_currency) == 1
    totals = next(iter(per_currency.values())) if single else {}
    stats["invoice_amount"] = totals.get("invoice", Decimal(0))
    stats["credit_memo_amount"] = totals.get("credit_memo", Decimal(0))
    stats["failed_chunks"] = failed_chunks
    return stats


def finalize_bill_run(*, run_id: int, now: dt.datetime | None = None) -> bool:
    """Processing → Completed (or Error) once every chunk is done; exactly once."""
    now = now or timezone.now()
    run = BillRun.objects.get(pk=run_id)
    if run.status != S.PROCESSING or run.chunks_done < run.chunks_total:
        return False
    stats = run_statistics(run_id)
    failed_chunks = stats.pop("failed_chunks")
    to = S.COMPLETED
    message = ""
    if run.chunks_total and failed_chunks == run.chunks_total:
        to, message = S.ERROR, "No chunk could be written; see the chunks' error messages."
    elif failed_chunks:
        to = S.ERROR
        message = f"{failed_chunks} of {run.chunks_total} chunks could not be written."
    total_ms = int((now - run.executed_at).total_seconds() * 1000) if run.executed_at else None
    with transaction.atomic():
        claimed = BillRun.objects.filter(
            pk=run_id, status=S.PROCESSING, chunks_done__gte=F("chunks_total")
        ).update(
            status=to,
            completed_at=now,
            updated_at=now,
            total_time_ms=total_ms,
            error_message=message,
            **stats,
        )
        if not claimed:
            return False  # another chunk finalised it first
        summary = (
            f"{stats['number_of_invoices']} invoices, {stats['number_of_credit_memos']} credit "
            f"memos, {stats['number_of_failures']} failures"
        )
        record_event(
            run, from_status=S.PROCESSING, to_status=to, now=now, message=message or summary
        )
        transaction.on_commit(lambda: _after_finish(run_id))
    return True


def _after_finish(run_id: int) -> None:
    _notify_finished(run_id)
    run = BillRun.objects.get(pk=run_id)
    if run.status == S.COMPLETED and run.auto_post:
        try:
            post_bill_run(run=run, acting_user=None)
        except BillRunError:
            logger.exception("Auto-post of %s failed", run.number)


def _notify_finished(run_id: int) -> None:
    from billruns import emails

    try:
        emails.send_run_finished(BillRun.objects.get(pk=run_id))
    except Exception:  # an email failure never changes the run
        logger.exception("Could not email the result of bill run %s", run_id)


# -- post / unpost ---------------------------------------------------------------------------


def post_bill_run(
    *, run: BillRun, acting_user, now: dt.datetime | None = None, background: bool = False
) -> BillRun:
    """Completed → PostInProgress → Posted: every Draft document of the run becomes Posted.

    The claim is immediate; the posting itself runs here, or in a worker with background=True
    (pages: a million documents take longer than a web request may).
    """
    now = now or timezone.now()
    with transaction.atomic():
        if not _move(
            run,
            source=S.COMPLETED,
            to=S.POST_IN_PROGRESS,
            actor=acting_user,
            now=now,
            updated_by=acting_user,
        ):
            raise _refuse(run, "posted", "Completed")
        if background:
            _finish_in_worker("billruns.tasks.finish_posting", run, acting_user)
    if background:
        run.refresh_from_db()
        return run
    return finish_posting(run_id=run.pk, acting_user=acting_user, now=now)


def _finish_in_worker(task: str, run: BillRun, acting_user) -> None:
    """Queue the rest of a claimed transition once the claim commits."""
    actor_id = acting_user.pk if acting_user else None
    transaction.on_commit(lambda: async_task(task, run.pk, actor_id))


def finish_posting(*, run_id: int, acting_user=None, now: dt.datetime | None = None) -> BillRun:
    """PostInProgress → Posted, batch by batch. Safe to run twice (a redelivered task, the
    sweep): each batch posts only Draft documents and the last move is conditional. If posting
    fails part way the run returns to Completed and posting again posts the rest."""
    now = now or timezone.now()
    run = BillRun.objects.get(pk=run_id)
    if run.status != S.POST_IN_PROGRESS:
        return run
    drafts = BillingDocument.objects.filter(bill_run=run, status=BillingDocument.Status.DRAFT)
    try:
        while True:
            with transaction.atomic():
                ids = list(drafts.order_by("id").values_list("id", flat=True)[:POST_BATCH])
                if not ids:
                    break
                BillingDocument.objects.filter(
                    id__in=ids, status=BillingDocument.Status.DRAFT
                ).update(
                    status=BillingDocument.Status.POSTED,
                    posted_at=now,
                    posted_by=acting_user,
                    updated_at=now,
                )
                # A heartbeat: the sweep resumes only postings that stopped moving.
                BillRun.objects.filter(pk=run_id).update(updated_at=timezone.now())
    except Exception as error:
        with transaction.atomic():
            _move(
                run,
                source=S.POST_IN_PROGRESS,
                to=S.COMPLETED,
                actor=acting_user,
                now=timezone.now(),
                message=f"Posting stopped: {error}",
            )
        raise BillRunError(f"Posting {run.number} stopped part way: {error}") from error
    with transaction.atomic():
        moved = _move(
            run,
            source=S.POST_IN_PROGRESS,
            to=S.POSTED,
            actor=acting_user,
            now=now,
            posted_at=now,
            posted_by=acting_user,
        )
        if moved and run.auto_email:
            transaction.on_commit(lambda: async_task("billruns.tasks.email_run_documents", run.pk))
    run.refresh_from_db()
    return run


def post_document(*, document: BillingDocument, acting_user, now=None) -> BillingDocument:
    now = now or timezone.now()
    with transaction.atomic():
        if document.bill_run_id:
            # Locked: a cancel claims the run under this lock, so a document is never posted
            # while its run is being canceled.
            run = (
                BillRun.objects.select_for_update()
                .only("number", "status")
                .get(pk=document.bill_run_id)
            )
            if run.status != S.COMPLETED:
                raise IllegalTransition(
                    f"{document} belongs to {run.number}, which is "
                    f"{run.get_status_display()}: documents are posted one by one only from "
                    "a Completed run."
                )
        updated = BillingDocument.objects.filter(
            pk=document.pk, status=BillingDocument.Status.DRAFT
        ).update(
            status=BillingDocument.Status.POSTED,
            posted_at=now,
            posted_by=acting_user,
            updated_at=now,
        )
    if not updated:
        document.refresh_from_db(fields=["status"])
        raise IllegalTransition(
            f"{document} is {document.get_status_display()}: only Draft documents can be posted."
        )
    document.refresh_from_db()
    return document


def unpost_document(*, document: BillingDocument, acting_user, now=None) -> BillingDocument:
    """Posted → Draft; a Posted run that loses a posted document returns to Completed."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = BillingDocument.objects.filter(
            pk=document.pk, status=BillingDocument.Status.POSTED
        ).update(
            status=BillingDocument.Status.DRAFT, posted_at=None, posted_by=None, updated_at=now
        )
        if not updated:
            document.refresh_from_db(fields=["status"])
            raise IllegalTransition(
                f"{document} is {document.get_status_display()}: only Posted documents can be "
                "set back to Draft."
            )
        if document.bill_run_id:
            run = BillRun.objects.get(pk=document.bill_run_id)
            _move(
                run,
                source=S.POSTED,
                to=S.COMPLETED,
                actor=acting_user,
                now=now,
                message=f"{document} set back to Draft",
                updated_by=acting_user,
            )
    document.refresh_from_db()
    return document


# -- cancel / terminate / delete / retry -----------------------------------------------------


def cancel_bill_run(
    *, run: BillRun, acting_user, now: dt.datetime | None = None, background: bool = False
) -> BillRun:
    """Pending, Completed or Error → CancelInProgress → Canceled.

    The claim is immediate; the roll back (documents canceled, their lines freed for rebilling,
    the charges' charged_through rolled back to before the run's first line and its usage
    returned to Pending, in one transaction) runs here, or in a worker with background=True.
    """
    now = now or timezone.now()
    with transaction.atomic():
        source = BillRun.objects.select_for_update().get(pk=run.pk).status
        if source not in {S.PENDING, S.COMPLETED, S.ERROR}:
            raise _refuse(run, "canceled", "Pending, Completed or Error")
        documents = BillingDocument.objects.filter(bill_run=run)
        if documents.filter(status=BillingDocument.Status.POSTED).exists():
            raise IllegalTransition(
                f"{run.number} has posted documents: set them back to Draft before canceling."
            )
        _move(
            run,
            source=source,
            to=S.CANCEL_IN_PROGRESS,
            actor=acting_user,
            now=now,
            updated_by=acting_user,
        )
        if background:
            _finish_in_worker("billruns.tasks.finish_cancel", run, acting_user)
    if background:
        run.refresh_from_db()
        return run
    return finish_cancel(run_id=run.pk, acting_user=acting_user, now=now)


def finish_cancel(*, run_id: int, acting_user=None, now: dt.datetime | None = None) -> BillRun:
    """CancelInProgress → Canceled, in one transaction under the run's lock; safe to run twice."""
    now = now or timezone.now()
    with transaction.atomic():
        run = BillRun.objects.select_for_update().get(pk=run_id)
        if run.status != S.CANCEL_IN_PROGRESS:
            return run
        _roll_back_run(run)
        _move(
            run,
            source=S.CANCEL_IN_PROGRESS,
            to=S.CANCELED,
            actor=acting_user,
            now=now,
            canceled_at=now,
            canceled_by=acting_user,
        )
    run.refresh_from_db()
    return run


ROLLBACK_BATCH = 5_000


def _roll_back_run(run: BillRun) -> None:
    """Free the run's lines for rebilling and move its charges' cursors back.

    Charges go in batches of ROLLBACK_BATCH, so memory does not grow with the run. Each cursor
    goes back to the end of the charge's last line from another run, or, with none, to the day
    before this run's first line (null when that was the charge's first day: never billed). A
    cursor is moved only if it still stands where this run left it; otherwise another run is
    billing the charge right now and the whole cancel is refused.
    """
    lines = DocumentLine.objects.filter(document__bill_run=run, canceled=False)
    per_charge = (
        lines.values("charge_id")
        .annotate(first=Min("service_start"), last=Max("service_end"))
        .order_by("charge_id")
        .values_list("charge_id", "first", "last")
    )
    writer = BulkWriter()
    for batch in batched(per_charge.iterator(chunk_size=ROLLBACK_BATCH), ROLLBACK_BATCH):
        ids = [charge_id for charge_id, _, _ in batch]
        others = DocumentLine.objects.filter(charge_id__in=ids, canceled=False).exclude(
            document__bill_run=run
        )
        firsts = {charge_id: first for charge_id, first, _ in batch}
        later = others.filter(service_start__gt=min(firsts.values())).values_list(
            "charge_id", "service_start", "document__number"
        )
        for charge_id, start, number in later:
            if start > firsts[charge_id]:
                raise IllegalTransition(
                    f"{number} bills a later period of a charge this run billed: cancel the "
                    "later run first."
                )
        before = dict(
            others.values("charge_id")
            .annotate(last=Max("service_end"))
            .values_list("charge_id", "last")
        )
        starts = dict(Charge.objects.filter(id__in=ids).values_list("id", "effective_start"))
        moves = []
        for charge_id, first, last in batch:
            if charge_id in before:
                back = before[charge_id]
            elif first <= starts[charge_id]:
                back = None
            else:
                back = first - dt.timedelta(days=1)
            moves.append((charge_id, last, back))
        if writer.move_cursor(Charge, "charged_through", moves, kind="date") != len(moves):
            raise IllegalTransition(
                f"Another run is billing charges of {run.number} right now: cancel again when "
                "it has finished."
            )
    UsageRecord.objects.filter(line__document__bill_run=run).update(
        status=UsageRecord.Status.PENDING, line=None
    )
    lines.update(canceled=True)
    BillingDocument.objects.filter(bill_run=run).update(status=BillingDocument.Status.CANCELED)


def terminate_bill_run(*, run: BillRun, acting_user, now: dt.datetime | None = None) -> BillRun:
    """Processing → Completed now: no further chunk is billed; documents written stay.

    The run's row is locked first: a chunk that commits before is in the statistics, and one
    that tries after finds the run no longer Processing and rolls itself back.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = BillRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != S.PROCESSING:
            raise _refuse(run, "terminated", "Processing")
        stats = run_statistics(run.pk)
        stats.pop("failed_chunks")
        started = locked.executed_at
        _move(
            run,
            source=S.PROCESSING,
            to=S.COMPLETED,
            actor=acting_user,
            now=now,
            message="Terminated",
            completed_at=now,
            updated_by=acting_user,
            total_time_ms=int((now - started).total_seconds() * 1000) if started else None,
            **stats,
        )
        transaction.on_commit(lambda: _notify_finished(run.pk))
    run.refresh_from_db()
    return run


def delete_bill_run(*, run: BillRun, acting_user, now: dt.datetime | None = None) -> None:
    """Canceled or Error → removed with its canceled documents; the audit trail stays."""
    now = now or timezone.now()
    with transaction.atomic():
        status = BillRun.objects.select_for_update().get(pk=run.pk).status
        if status not in {S.CANCELED, S.ERROR}:
            raise _refuse(run, "deleted", "Canceled or Error")
        documents = BillingDocument.objects.filter(bill_run=run)
        if documents.exclude(status=BillingDocument.Status.CANCELED).exists():
            raise IllegalTransition(
                f"{run.number} still has documents that are not canceled: cancel it first."
            )
        DocumentLine.objects.filter(document__bill_run=run).delete()
        documents.delete()
        record_event(run, from_status=status, to_status="Deleted", actor=acting_user, now=now)
        BillRunEvent.objects.filter(bill_run=run).update(bill_run=None)
        run.delete()


def retry_failed_accounts(*, run: BillRun, acting_user) -> BillRun:
    """A new ad hoc run, for the failed accounts of `run` only, with its dates and options."""
    if run.status not in {S.COMPLETED, S.ERROR, S.POSTED}:
        raise _refuse(run, "retried", "Completed, Error or Posted")
    if not run.failures.exists():
        raise BillRunError(f"{run.number} has no failed accounts to retry.")
    running = run.retries.filter(status__in=[S.PENDING, S.PROCESSING]).first()
    if running is not None:
        raise BillRunError(
            f"{running.number} is already retrying the failed accounts of {run.number}."
        )
    return create_bill_run(
        acting_user=acting_user,
        invoice_date=run.invoice_date,
        target_date=run.target_date,
        target_type=TargetType.MULTIPLE_ACCOUNTS,
        charge_types=run.charge_types,
        auto_post=run.auto_post,
        auto_email=run.auto_email,
        no_email_for_zero_amount=run.no_email_for_zero_amount,
        name=f"Retry of {run.number}",
        retry_of=run,
        # A double click retries once; a retry after the last one finished is a new run.
        idempotency_key=f"retry-{run.pk}-{run.retries.count()}",
    )
