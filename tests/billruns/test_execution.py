"""A bill run from Pending to Completed, billing every account in scope exactly once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account, Charge, Subscription, UsageRecord
from billruns import leases, services
from billruns.execution import bill_chunk
from billruns.models import BillRun, BillRunChunk, BillRunFailure
from invoicing.models import BillingDocument, DocumentLine
from tests.factories import ChargeFactory, UsageRecordFactory, create_bill_run, failing_charge

pytestmark = pytest.mark.django_db
FEB1 = dt.date(2026, 2, 1)


def test_a_run_bills_every_active_account_in_its_batches_once(run_now, mailoutbox):
    billed = [ChargeFactory(subscription__account__batch="Batch1") for _ in range(3)]
    ChargeFactory(subscription__account__batch="Batch2")  # out of scope
    ChargeFactory(subscription__account__status=Account.Status.DRAFT)
    run = run_now(batches=["Batch1"])
    assert run.status == BillRun.Status.COMPLETED
    assert (run.number_of_accounts, run.number_of_invoices, run.number_of_failures) == (3, 3, 0)
    assert run.invoice_amount == Decimal("600.00")  # January and February, in advance
    assert run.amounts_by_currency == {"USD": {"invoice": "600.00", "credit_memo": "0"}}
    documents = BillingDocument.objects.filter(bill_run=run).order_by("number")
    assert [d.number for d in documents] == ["INV00000001", "INV00000002", "INV00000003"]
    assert {d.account_id for d in documents} == {c.account_id for c in billed}
    assert all(d.due_date == FEB1 + dt.timedelta(days=30) for d in documents)
    # January and February, in advance.
    assert DocumentLine.objects.filter(document__bill_run=run).count() == 6
    assert set(
        Charge.objects.filter(pk__in=[c.pk for c in billed]).values_list(
            "charged_through", flat=True
        )
    ) == {dt.date(2026, 2, 28)}
    assert [m.subject for m in mailoutbox] == [f"Bill run {run.number} completed"]
    assert "Invoices:              3" in mailoutbox[0].body
    assert list(run.events.values_list("to_status", flat=True)) == [
        "Completed",
        "Processing",
        "Pending",
    ]


def test_a_second_run_for_the_same_target_bills_nothing_again(run_now):
    ChargeFactory()
    run_now()
    second = run_now()
    assert second.status == BillRun.Status.COMPLETED
    assert (second.number_of_accounts, second.number_of_invoices) == (1, 0)
    assert DocumentLine.objects.count() == 2


def test_a_failing_account_does_not_stop_the_run(run_now, mailoutbox):
    good = ChargeFactory()
    bad = failing_charge()
    run = run_now()
    assert run.status == BillRun.Status.COMPLETED
    assert (run.number_of_invoices, run.number_of_failures) == (1, 1)
    failure = BillRunFailure.objects.get(bill_run=run)
    assert (failure.account_id, failure.charge_id, failure.error_code) == (
        bad.account_id,
        bad.pk,
        "invalid_tiers",
    )
    assert BillingDocument.objects.get(bill_run=run).account_id == good.account_id
    assert "1 failed account" in mailoutbox[0].subject
    assert bad.number in mailoutbox[0].body


def test_usage_is_marked_billed_by_its_line(run_now):
    usage = UsageRecordFactory(quantity=Decimal("8"), usage_date=dt.date(2026, 1, 10))
    run = run_now()
    usage.refresh_from_db()
    assert usage.status == UsageRecord.Status.BILLED
    assert usage.line.document.bill_run == run
    assert usage.line.amount == Decimal("2.00")


def test_a_net_negative_account_gets_a_credit_memo(run_now):
    ChargeFactory(price=Decimal("-40.00"))
    run = run_now(target_date=dt.date(2026, 1, 1))
    memo = BillingDocument.objects.get(bill_run=run)
    assert (memo.kind, memo.number, memo.amount) == ("CreditMemo", "CM00000001", Decimal("40.00"))
    assert (run.number_of_credit_memos, run.credit_memo_amount) == (1, Decimal("40.00"))


def test_chunks_split_the_scope_and_the_last_one_finalises(run_now, settings):
    settings.BILLCYCLE_CHUNK_SIZE = 2
    for _ in range(5):
        ChargeFactory()
    run = run_now()
    assert (run.chunks_total, run.chunks_done) == (3, 3)
    assert run.number_of_invoices == 5
    assert list(run.chunks.values_list("status", flat=True)) == ["Done"] * 3


def test_a_chunk_left_running_by_a_dead_worker_is_billed_once_its_lease_lapses(
    django_capture_on_commit_callbacks,
):
    ChargeFactory()
    with django_capture_on_commit_callbacks(execute=False):  # plan, but queue nothing
        run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1)
        services.start_bill_run(run_id=run.pk)
    chunk = run.chunks.get()
    now = timezone.now()
    BillRunChunk.objects.filter(pk=chunk.pk).update(
        status="Running", started_at=now, lease_until=leases.until(now)
    )
    assert bill_chunk(chunk_id=chunk.pk, now=now) is None  # its worker may still be alive
    later = leases.until(now) + dt.timedelta(seconds=1)
    assert bill_chunk(chunk_id=chunk.pk, now=later).lines == 2
    assert bill_chunk(chunk_id=chunk.pk, now=later) is None  # Done: a re-delivery does nothing
    run.refresh_from_db()
    assert (run.status, run.number_of_invoices) == ("Completed", 1)
    assert DocumentLine.objects.count() == 2


def make_accounts(count: int, batch: str) -> None:
    """`count` accounts, each with a fee, a credit and two usage records, written in bulk."""
    accounts = [
        Account(name=f"{batch} {n}", currency="EUR", bill_cycle_day=1 + n % 28, batch=batch)
        for n in range(count)
    ]
    Account.assign_numbers(accounts)
    Account.objects.bulk_create(accounts)
    subscriptions = [Subscription(account=a, term_start=dt.date(2026, 1, 1)) for a in accounts]
    Subscription.assign_numbers(subscriptions)
    Subscription.objects.bulk_create(subscriptions)
    charges = []
    for n, sub in enumerate(subscriptions):
        common = {
            "subscription": sub,
            "account": sub.account,
            "billing_period": "Month",
            "effective_start": dt.date(2026, 1, 1),
        }
        charges += [
            Charge(
                name="Fee",
                charge_type="Recurring",
                charge_model="FlatFee",
                price=Decimal("10"),
                **common,
            ),
            Charge(
                name="Credit",
                charge_type="Recurring",
                charge_model="FlatFee",
                price=Decimal("-30" if n % 2 else "-1"),
                **common,
            ),
            Charge(
                name="Calls",
                charge_type="Usage",
                charge_model="PerUnit",
                billing_timing="InArrears",
                price=Decimal("0.1"),
                **common,
            ),
        ]
    Charge.assign_numbers(charges)
    Charge.objects.bulk_create(charges)
    UsageRecord.objects.bulk_create(
        UsageRecord(account=c.account, charge=c, quantity=Decimal(q), usage_date=day)
        for c in charges[2::3]
        for q, day in (("3", dt.date(2026, 1, 5)), ("4", dt.date(2026, 1, 20)))
    )


def test_the_chunk_writer_uses_the_same_queries_for_10_and_1000_accounts(
    django_capture_on_commit_callbacks,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    # A first chunk pays what a worker process looks up once (the id sequences' names on
    # PostgreSQL, the number sequences' first rows); then 10 and 1,000 accounts compare.
    for size, batch in ((2, "Batch9"), (10, "Batch10"), (1000, "Batch11")):
        make_accounts(size, batch)
        with django_capture_on_commit_callbacks(execute=False):
            run = create_bill_run(
                acting_user=None, invoice_date=FEB1, target_date=FEB1, batches=[batch]
            )
            services.start_bill_run(run_id=run.pk)
        chunk = run.chunks.get()
        with CaptureQueriesContext(connection) as queries:
            result = bill_chunk(chunk_id=chunk.pk)
        assert (result.accounts, result.invoices + result.credit_memos) == (size, size)
        assert result.credit_memos == size // 2
        counts[size] = len(queries.captured_queries)
    assert counts[10] == counts[1000]


def test_the_watchdog_bills_a_chunk_whose_lease_lapsed_about_a_lease_after_its_worker_died(
    django_capture_on_commit_callbacks, time_machine
):
    from django_q.models import Schedule

    from billruns.tasks import recover

    assert Schedule.objects.get(func="billruns.tasks.recover").minutes == 1
    ChargeFactory()
    time_machine.move_to("2026-02-01 09:00:00+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=False):
        run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1)
        services.start_bill_run(run_id=run.pk)
    now = timezone.now()
    BillRunChunk.objects.filter(bill_run=run).update(
        status="Running", started_at=now, lease_until=leases.until(now)
    )
    assert recover() == (
        "0 lapsed chunks and 0 stalled runs queued again, 0 runs started, "
        "0 postings or cancels resumed, 0 previews' work queued or finished, 0 runs finalised"
    )
    time_machine.move_to("2026-02-01 09:00:31+00:00", tick=False)  # the 30-second lease lapsed
    assert recover().startswith("1 lapsed chunks and 0 stalled runs queued again")
    run.refresh_from_db()
    assert (run.status, run.number_of_invoices) == ("Completed", 1)


def test_a_worker_whose_chunk_was_taken_over_undoes_its_work(
    django_capture_on_commit_callbacks, monkeypatch
):
    from billruns import rating

    ChargeFactory()
    with django_capture_on_commit_callbacks(execute=False):
        run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1)
        services.start_bill_run(run_id=run.pk)
    chunk = run.chunks.get()
    read_usage = rating._read_usage

    def taken_over_meanwhile(*args):
        # Another worker claims the chunk after the stale timeout while this one works.
        BillRunChunk.objects.filter(pk=chunk.pk).update(
            started_at=timezone.now() + dt.timedelta(hours=1)
        )
        return read_usage(*args)

    monkeypatch.setattr(rating, "_read_usage", taken_over_meanwhile)
    assert bill_chunk(chunk_id=chunk.pk) is None
    assert not DocumentLine.objects.exists()
    run.refresh_from_db()
    assert (run.chunks_done, run.status) == (0, "Processing")


def test_the_watchdog_starts_a_run_whose_task_was_lost_and_finalises_a_forgotten_one(
    django_capture_on_commit_callbacks, time_machine
):
    from billruns.tasks import recover

    ChargeFactory()
    time_machine.move_to("2026-02-01 09:00:00+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=False):
        lost = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1)
    assert "0 runs started" in recover()  # only just queued
    time_machine.move_to("2026-02-01 09:00:31+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert "1 runs started" in recover()
    lost.refresh_from_db()
    assert (lost.status, lost.number_of_invoices) == ("Completed", 1)
    # A run whose last chunk committed but whose worker died before finalising.
    BillRun.objects.filter(pk=lost.pk).update(status="Processing")
    assert recover().endswith("1 runs finalised")
    lost.refresh_from_db()
    assert lost.status == "Completed"


def test_the_watchdog_queues_again_the_chunks_of_a_run_whose_queue_entries_were_lost(
    django_capture_on_commit_callbacks, time_machine, settings
):
    """A killed cluster's prefetched tasks are gone: Pending chunks, no worker at them."""
    from billruns.tasks import recover

    settings.BILLCYCLE_CHUNK_SIZE = 2
    for _ in range(5):
        ChargeFactory()
    time_machine.move_to("2026-02-01 09:00:00+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=False):  # the chunks' tasks are lost
        run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1)
        services.start_bill_run(run_id=run.pk)
    # Another run's chunk holds a live lease: workers are busy, the entries may just be queued.
    busy = run.chunks.order_by("sequence").first()
    BillRunChunk.objects.filter(pk=busy.pk).update(
        status="Running", started_at=timezone.now(), lease_until=leases.until(timezone.now())
    )
    time_machine.move_to("2026-02-01 09:00:29+00:00", tick=False)
    assert "0 stalled runs" in recover()
    time_machine.move_to("2026-02-01 09:00:31+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert recover().startswith("1 lapsed chunks and 0 stalled runs")
        assert recover().startswith("0 lapsed chunks and 0 stalled runs")
    run.refresh_from_db()
    assert run.status == "Processing"  # the other two chunks' tasks are still lost
    time_machine.move_to("2026-02-01 09:01:02+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert recover().startswith("0 lapsed chunks and 1 stalled runs")
    run.refresh_from_db()
    assert (run.status, run.number_of_invoices) == ("Completed", 5)


def test_a_cursor_moved_under_a_chunk_makes_it_bill_again_from_fresh_reads(run_now, monkeypatch):
    from billruns import rating

    charge = ChargeFactory()
    read_usage = rating._read_usage
    calls = []

    def cursor_moves_on_first_attempt(*args):
        if not calls:
            Charge.objects.filter(pk=charge.pk).update(charged_through=dt.date(2026, 1, 31))
        calls.append(1)
        return read_usage(*args)

    monkeypatch.setattr(rating, "_read_usage", cursor_moves_on_first_attempt)
    run = run_now()
    # An expected race spends no attempt (it is not a failure) and leaves no error behind.
    chunk = run.chunks.get()
    assert run.status == "Completed" and (chunk.attempts, chunk.error_message) == (1, "")
    # The move happened inside the chunk's own transaction here, so it rolled back with it;
    # the second attempt read fresh cursors and billed each period once.
    assert sorted(DocumentLine.objects.values_list("service_start", flat=True)) == [
        dt.date(2026, 1, 1),
        FEB1,
    ]


@pytest.mark.parametrize("queue_empty", [True, False])
def test_lost_chunks_are_queued_again_at_once_when_the_queue_is_empty(
    django_capture_on_commit_callbacks, time_machine, monkeypatch, queue_empty
):
    """Idle workers and an empty queue: nothing can be on its way, so the Pending chunks lost
    their entries. With something queued (maybe them) the watchdog leaves them be."""
    from billruns import recovery

    monkeypatch.setattr(recovery, "queue_is_empty", lambda: queue_empty)
    ChargeFactory()
    time_machine.move_to("2026-02-01 09:00:00+00:00", tick=False)
    with django_capture_on_commit_callbacks(execute=False):  # the chunk's task is lost
        run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1)
        services.start_bill_run(run_id=run.pk)
    time_machine.move_to("2026-02-01 09:00:11+00:00", tick=False)  # a beat later
    requeued = recovery.recover().runs_requeued
    run.refresh_from_db()
    assert (requeued, run.status) == ((1, "Completed") if queue_empty else (0, "Processing"))


def test_the_watchdog_thread_starts_in_a_worker_process_only(monkeypatch):
    """django-q2 sends post_spawn in each worker process it spawns, and, in sync mode, in the
    caller's own process: the watchdog runs in the first only."""
    import multiprocessing

    from django_q.conf import Conf
    from django_q.signals import post_spawn

    from billruns import recovery

    beats = []
    monkeypatch.setattr(recovery, "_watch", lambda: beats.append("watching"))
    monkeypatch.setattr(recovery, "_watchdog", None)
    post_spawn.send(sender="django_q", proc_name="MainProcess")  # sync mode
    assert recovery._watchdog is None
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(multiprocessing.current_process(), "name", "Process-1:1")
    post_spawn.send(sender="django_q", proc_name="Process-1:1")
    recovery._watchdog.join(timeout=5)
    assert beats == ["watching"]


def test_the_chunk_reads_charges_in_the_engine_s_field_order():
    """_read_charges builds ChargeInput positionally from CHARGE_FIELDS (account_id aside)."""
    import dataclasses

    from billruns.rating import CHARGE_FIELDS
    from invoicing.rating.engine import ChargeInput

    read = [name.removesuffix("_text") for name in CHARGE_FIELDS if name != "account_id"]
    assert [field.name for field in dataclasses.fields(ChargeInput)][: len(read)] == read


def test_a_line_draft_is_its_row_from_charge_id_to_amount():
    """_write_documents writes `*line[:9]` where LINE_COLUMNS has charge_id … amount."""
    from billruns.execution import LINE_COLUMNS
    from invoicing.rating.engine import LineDraft

    assert LineDraft._fields[:9] == LINE_COLUMNS[2:11]
