"""Post a bill run: Completed → PostInProgress → Posted, every Draft document made final."""

import datetime as dt

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from billruns.errors import BillRunError
from billruns.leases import LeaseLost, RunLease
from billruns.models import BillRun
from billruns.services.lifecycle import TRANSITIONS, Action, claim_then_finish, move
from core.bulk import refresh_statistics
from core.iterables import batched
from invoicing.models import BillingDocument

NOTHING_TO_POST = "The run has no documents: there was nothing to post."
# Chunks' account ranges posted per transaction (a chunk holds about 1,000 documents).
POST_BATCH_CHUNKS = 5


def post_bill_run(
    *, run: BillRun, acting_user, now: dt.datetime | None = None, background: bool = False
) -> BillRun:
    """Post the run (from TRANSITIONS[Action.POST]) → PostInProgress → Posted: every Draft
    document of the run becomes Posted. Asked again while PostInProgress, it goes on.

    The claim is immediate; the posting itself runs here, or in a worker with background=True
    (pages: a million documents take longer than a web request may). A run with no Draft
    document left (none at all, or all posted one by one) is finished here all the same: there
    is nothing to wait for, and the page that asked shows it Posted at once.
    """
    if background and not _drafts(run).exists():
        background = False
    return claim_then_finish(
        run,
        Action.POST,
        acting_user=acting_user,
        now=now or timezone.now(),
        background=background,
        finish=finish_posting,
    )


def finish_posting(*, run_id: int, acting_user=None, now: dt.datetime | None = None) -> BillRun:
    """PostInProgress → Posted, a few chunks' documents per transaction, under the run's lease.

    Safe to run twice and resumable: each batch posts only Draft documents, so a worker that
    takes over (the lease lapsed) or a second ask goes on where the first stopped. Documents
    are posted by the user who asked (the last one, when asked again), else by whoever claimed
    the posting. If a batch fails the run returns to Completed and posting again posts the rest.
    """
    now = now or timezone.now()
    lease = RunLease(BillRun, run_id)
    if not lease.take(now, status__in=TRANSITIONS[Action.FINISH_POSTING].sources):
        return BillRun.objects.get(pk=run_id)  # posted already, or another worker is at it
    run = BillRun.objects.select_related("updated_by").get(pk=run_id)
    actor = acting_user or run.updated_by
    refresh_statistics(BillingDocument)
    drafts = _drafts(run)
    try:
        for batch in batched(chunk_ranges(run), POST_BATCH_CHUNKS):
            with transaction.atomic():
                in_range(drafts, "account_id", (batch[0][0], batch[-1][1])).update(
                    status=BillingDocument.Status.POSTED,
                    posted_at=now,
                    posted_by=actor,
                    updated_at=now,
                )
                lease.renew(timezone.now())
    except LeaseLost:
        return BillRun.objects.get(pk=run_id)  # it lapsed and another worker goes on
    except (OperationalError, InterfaceError):
        raise  # a lost connection or a lock timeout: the lease lapses and the posting resumes
    except Exception as error:
        move(
            run,
            Action.STOP_POSTING,
            actor=actor,
            message=f"Posting stopped: {error}",
            condition=lease.held(),
            lease_until=None,
        )
        raise BillRunError(f"Posting {run.number} stopped part way: {error}") from error
    # DESIGN §4: a run with no documents is Posted too, there being nothing to post; its
    # History says so, as its page does.
    written = BillingDocument.objects.filter(bill_run=run).exclude(
        status=BillingDocument.Status.CANCELED
    )
    with transaction.atomic():
        moved = move(
            run,
            Action.FINISH_POSTING,
            actor=actor,
            now=now,
            message="" if written.exists() else NOTHING_TO_POST,
            condition=lease.held(),
            posted_at=now,
            posted_by=actor,
            lease_until=None,
        )
        if moved and run.auto_email:
            transaction.on_commit(lambda: async_task("billruns.tasks.email_run_documents", run.pk))
    run.refresh_from_db()
    return run


def _drafts(run: BillRun):
    return BillingDocument.objects.filter(bill_run=run, status=BillingDocument.Status.DRAFT)


def chunk_ranges(run: BillRun, *, after: int | None = None) -> list[tuple[int, int]]:
    """The account id ranges of the run's chunks, in order (those past `after`): the batches of
    a posting or a cancel, each a short range scan of the documents' account index."""
    chunks = run.chunks.order_by("sequence")
    if after is not None:
        chunks = chunks.filter(first_account_id__gt=after)
    return list(chunks.values_list("first_account_id", "last_account_id"))


def in_range(queryset, field: str, account_range: tuple[int, int] | None):
    """`queryset` narrowed to an account range, or as it is for None (foreign keys take no
    __range lookup)."""
    if account_range is None:
        return queryset
    first, last = account_range
    return queryset.filter(**{f"{field}__gte": first, f"{field}__lte": last})
