"""Billing preview runs (DESIGN §11): what a run would bill, line for line, writing nothing a
run writes; canceled, cleaned up and recovered like a run's chunks."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts.models import Account, Charge, Subscription
from billruns import golden, leases
from billruns.models import BillingPreviewChunk, BillingPreviewFailure, BillingPreviewRun
from billruns.preview import result
from billruns.preview import services as previews
from billruns.preview.execution import preview_chunk
from billruns.recovery import recover
from billruns.terms import RunTerms
from invoicing.models import BillingDocument, DocumentLine
from tests.factories import ChargeFactory, failing_charge

pytestmark = pytest.mark.django_db
FEB1 = dt.date(2026, 2, 1)
# The preview's own rows, and the task queue: everything else must stay as it was.
OWN_TABLES = {
    BillingPreviewRun._meta.db_table,
    BillingPreviewChunk._meta.db_table,
    BillingPreviewFailure._meta.db_table,
}


def preview_here(terms: RunTerms, *, chunk_size: int = 50) -> BillingPreviewRun:
    """Create a preview and rate its chunks here, with the workers' own code."""
    preview = previews.create_preview(terms=terms, acting_user=None, enqueue=False)
    previews.start_preview(preview_id=preview.pk, enqueue=False, chunk_size=chunk_size)
    for chunk_id in preview.chunks.order_by("sequence").values_list("id", flat=True):
        preview_chunk(chunk_id=chunk_id)
    preview.refresh_from_db()
    return preview


def csv_rows(preview: BillingPreviewRun) -> list[dict]:
    text = b"".join(result.stream(preview)).decode()
    return list(csv.DictReader(io.StringIO(text)))


def run_lines(run) -> list[tuple]:
    """The run's lines in the preview CSV's columns."""
    rows = DocumentLine.objects.filter(document__bill_run=run).values_list(
        "document__account__number", "charge__number", "subscription__number", "charge_type",
        "service_start", "service_end", "quantity", "unit_price", "amount", "document__currency",
        "document__kind",
    )  # fmt: skip
    return sorted(
        (a, c, s, t, str(start), str(end), Decimal(q), Decimal(p), Decimal(m), cur, kind)
        for a, c, s, t, start, end, q, p, m, cur, kind in rows
    )


def preview_lines(preview) -> list[tuple]:
    return sorted(
        (
            row["accountNumber"],
            row["chargeNumber"],
            row["subscriptionNumber"],
            row["chargeType"],
            row["serviceStartDate"],
            row["serviceEndDate"],
            Decimal(row["quantity"]),
            Decimal(row["unitPrice"]),
            Decimal(row["amount"]),
            row["currency"],
            row["documentType"],
        )  # fmt: skip
        for row in csv_rows(preview)
    )


def snapshot() -> dict[str, list]:
    """Every row of every table but the preview's own and the task queue's."""
    tables = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table in OWN_TABLES or table.startswith("django_q_"):
                continue
            cursor.execute(f'SELECT * FROM "{table}"')
            rows = sorted(map(repr, cursor.fetchall()))
            # The preview's own number (BPR-…) comes from the shared sequences; none other.
            tables[table] = [row for row in rows if not row.startswith("('BPR-'")]
    return tables


def test_a_preview_bills_exactly_what_the_run_then_writes_on_demo_data_with_amendments():
    """Charges, usage, prorations, credits back of canceled and repriced subscriptions,
    renewals and failures: the preview of each of golden's two runs equals the run's lines,
    amounts and totals; and the preview leaves every table of the run as it found it."""
    from accounts.demo import seed_demo_accounts

    seed_demo_accounts(count=golden.ACCOUNTS, seed=golden.SEED, as_of=golden.FIRST_RUN)
    bad = failing_charge()
    Subscription.objects.filter(pk=bad.subscription_id).update(term_start=dt.date(2026, 1, 1))
    compared = []
    for number, run_date in enumerate((golden.FIRST_RUN, golden.SECOND_RUN), start=1):
        terms = RunTerms(invoice_date=run_date, target_date=run_date, name=f"golden {number}")
        before = snapshot()
        preview = preview_here(terms)
        assert snapshot() == before
        run = golden.bill(terms)
        assert preview.status == BillingPreviewRun.Status.COMPLETED
        assert preview_lines(preview) == run_lines(run)
        for field in (
            "number_of_accounts",
            "number_of_invoices",
            "number_of_zero_amount_invoices",
            "number_of_credit_memos",
            "number_of_failures",
            "number_of_late_usage",
            "amounts_by_currency",
        ):
            assert getattr(preview, field) == getattr(run, field), field
        assert (
            preview.number_of_lines == DocumentLine.objects.filter(document__bill_run=run).count()
        )
        assert sorted(
            preview.failures.values_list("account_id", "charge_id", "error_code", "message")
        ) == sorted(run.failures.values_list("account_id", "charge_id", "error_code", "message"))
        compared.append(preview_lines(preview))
        if number == 1:
            golden._amend()
    first, second = compared
    # What the comparison covered: usage, credit memos, credit lines (negative on invoices or
    # turned on credit memos) and a failure.
    assert any(row[3] == "Usage" for row in first)
    assert any(row[10] == "CreditMemo" for row in second)
    assert BillingPreviewFailure.objects.filter(account_id=bad.account_id).count() == 2
    renewed = Subscription.objects.filter(auto_renew=True, term_end__gte=golden.SECOND_RUN).exists()
    assert renewed


def test_the_csv_has_the_columns_of_design_11_and_one_row_per_line(run_now):
    ChargeFactory(price=Decimal("100.00"))
    preview = preview_here(RunTerms(invoice_date=FEB1, target_date=FEB1))
    text = b"".join(result.stream(preview)).decode()
    assert text.splitlines()[0] == (
        "accountNumber,chargeNumber,subscriptionNumber,chargeType,serviceStartDate,"
        "serviceEndDate,quantity,unitPrice,amount,currency,documentType"
    )
    rows = csv_rows(preview)
    charge = Charge.objects.select_related("subscription", "account").get()
    assert [(r["serviceStartDate"], r["amount"], r["documentType"]) for r in rows] == [
        ("2026-01-01", "100.00", "Invoice"),
        ("2026-02-01", "100.00", "Invoice"),
    ]
    assert {(r["accountNumber"], r["chargeNumber"], r["subscriptionNumber"]) for r in rows} == {
        (charge.account.number, charge.number, charge.subscription.number)
    }
    assert preview.amounts_by_currency == {"USD": {"invoice": "200.00", "credit_memo": "0"}}
    assert preview.number.startswith("BPR-") and preview.number_of_lines == 2
    # The run itself then bills the same and finds nothing billed before it.
    run = run_now(invoice_date=FEB1, target_date=FEB1)
    assert run.invoice_amount == Decimal("200.00")


def test_a_preview_is_refused_what_a_run_is_refused():
    with pytest.raises(Exception, match="No active account matches this scope"):
        previews.create_preview(
            terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None
        )
    ChargeFactory()
    with pytest.raises(Exception, match="Unknown batch"):
        previews.create_preview(
            terms=RunTerms(invoice_date=FEB1, target_date=FEB1, batches=["Batch99"]),
            acting_user=None,
        )
    assert not BillingPreviewRun.objects.exists()


def test_canceling_a_preview_stops_it():
    for _ in range(3):
        ChargeFactory()
    preview = previews.create_preview(
        terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None, enqueue=False
    )
    previews.start_preview(preview_id=preview.pk, enqueue=False, chunk_size=1)
    first, *rest = preview.chunks.order_by("sequence").values_list("id", flat=True)
    assert preview_chunk(chunk_id=first) is not None
    assert previews.cancel_preview(preview=preview)
    assert [preview_chunk(chunk_id=chunk_id) for chunk_id in rest] == [None, None]
    preview.refresh_from_db()
    assert (preview.status, preview.chunks_done) == ("Canceled", 1)
    assert preview.chunks.filter(status="Pending").count() == 2
    with pytest.raises(Exception, match="only a running preview is canceled"):
        previews.cancel_preview(preview=preview)


def test_a_chunk_canceled_while_rated_keeps_nothing(monkeypatch):
    from billruns import rating

    ChargeFactory()
    preview = previews.create_preview(
        terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None, enqueue=False
    )
    previews.start_preview(preview_id=preview.pk, enqueue=False)
    read_usage = rating._read_usage

    def canceled_meanwhile(*args):
        previews.cancel_preview(preview=BillingPreviewRun.objects.get(pk=preview.pk))
        return read_usage(*args)

    monkeypatch.setattr(rating, "_read_usage", canceled_meanwhile)
    assert preview_chunk(chunk_id=preview.chunks.get().pk) is None
    chunk = preview.chunks.get()
    assert (chunk.status, bytes(chunk.csv_rows)) == ("Running", b"")


def test_a_chunk_that_keeps_failing_ends_the_preview_in_error(monkeypatch, caplog):
    from billruns import execution, rating

    charge = ChargeFactory()
    preview = previews.create_preview(
        terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None, enqueue=False
    )
    previews.start_preview(preview_id=preview.pk, enqueue=False)

    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rating, "_read_usage", broken)
    chunk_id = preview.chunks.get().pk
    for _ in range(execution.MAX_ATTEMPTS):
        assert preview_chunk(chunk_id=chunk_id) is None
    preview.refresh_from_db()
    assert preview.status == "Error"
    assert preview.error_message == "1 of 1 chunks could not be rated."
    failure = preview.failures.get()
    assert failure.account_id == charge.account_id
    assert "RuntimeError: disk on fire" in failure.message


def test_the_watchdog_queues_a_chunk_whose_worker_died_and_finishes_the_preview(
    django_capture_on_commit_callbacks,
):
    ChargeFactory()
    with django_capture_on_commit_callbacks(execute=False):
        preview = previews.create_preview(
            terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None
        )
        previews.start_preview(preview_id=preview.pk)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    preview.chunks.update(status="Running", started_at=long_ago, lease_until=long_ago)
    found = recover()  # sync mode: the queued chunk is rated at once
    assert found.previews >= 1
    preview.refresh_from_db()
    assert (preview.status, preview.number_of_invoices) == ("Completed", 1)
    assert leases.length()  # the lease the watchdog compares with


def test_previews_older_than_180_days_are_deleted(time_machine):
    ChargeFactory()
    time_machine.move_to("2026-01-01 09:00:00+00:00", tick=False)
    old = preview_here(RunTerms(invoice_date=FEB1, target_date=FEB1))
    time_machine.move_to("2026-06-29 09:00:00+00:00", tick=False)  # 179 days later
    recent = preview_here(RunTerms(invoice_date=FEB1, target_date=FEB1))
    assert previews.delete_old_previews() == 0
    time_machine.move_to("2026-07-01 09:00:00+00:00", tick=False)  # 181 days
    assert previews.delete_old_previews() == 1
    assert list(BillingPreviewRun.objects.values_list("number", flat=True)) == [recent.number]
    assert not BillingPreviewChunk.objects.filter(preview_id=old.pk).exists()
    from django_q.models import Schedule

    assert Schedule.objects.get(func="billruns.tasks.delete_old_previews").schedule_type == "D"


def test_the_command_previews_with_progress_and_writes_the_csv(tmp_path):
    charge = ChargeFactory(subscription__account__batch="Batch3")
    out, path = io.StringIO(), tmp_path / "preview.csv"
    call_command(
        "preview_bill_run",
        "--batch", "Batch3", "--target-date", "2026-02-01", "--invoice-date", "2026-02-01",
        "--wait", "--output", str(path), stdout=out,
    )  # fmt: skip
    lines = out.getvalue().splitlines()
    preview = BillingPreviewRun.objects.get()
    assert lines[0] == preview.number
    assert lines[-1].startswith(
        f"{preview.number} Completed: 1 accounts, 1 invoices, 0 credit memos, 2 lines, "
        "0 failures; USD invoices 200.00, credit memos 0"
    )
    assert lines[-1].endswith(f"CSV in {path}")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [row["chargeNumber"] for row in rows] == [charge.number, charge.number]
    assert not BillingDocument.objects.exists()
    assert Charge.objects.get().charged_through is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--all"], "--target-date is required (YYYY-MM-DD)."),
        (["--target-date", "2026-02-31", "--all"], "--target-date must be an ISO date"),
        (["--target-date", "2026-02-01"], "Choose a scope"),
        (["--target-date", "2026-02-01", "--account", "A99"], "No account numbered 'A99'."),
        (["--target-date", "2026-02-01", "--batch", "Batch9"], "No active account matches"),
    ],
)
def test_the_command_refuses_bad_input_in_one_line_and_writes_no_file(arguments, message, tmp_path):
    ChargeFactory(subscription__account__batch="Batch1")
    path = tmp_path / "out.csv"
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("preview_bill_run", *arguments, "--output", str(path))
    assert not path.exists()
    assert not BillingPreviewRun.objects.exists()
    assert Account.objects.count() == 1


def test_numbers_with_commas_or_quotes_are_quoted_as_the_csv_module_would():
    charge = ChargeFactory()
    Account.objects.filter(pk=charge.account_id).update(number='A,1"x')
    Charge.objects.filter(pk=charge.pk).update(number="C\n2")
    preview = preview_here(RunTerms(invoice_date=FEB1, target_date=FEB1))
    rows = csv_rows(preview)
    assert {(row["accountNumber"], row["chargeNumber"]) for row in rows} == {('A,1"x', "C\n2")}
    assert [row["amount"] for row in rows] == ["100.00", "100.00"]


@pytest.mark.django_db(transaction=True)
def test_the_command_without_wait_lets_the_workers_rate_and_waits_for_them_to_write_the_csv(
    tmp_path,
):
    """django-q2 runs in sync mode here: the preview's tasks run as it commits, as a worker would
    pick them up; the command waits for the preview to finish, then writes its CSV."""
    ChargeFactory(subscription__account__batch="Batch2")
    out, path = io.StringIO(), tmp_path / "preview.csv"
    call_command(
        "preview_bill_run", "--batch", "Batch2", "--target-date", "2026-02-01",
        "--output", str(path), stdout=out,
    )  # fmt: skip
    preview = BillingPreviewRun.objects.get()
    assert out.getvalue().splitlines()[0] == preview.number
    assert f"{preview.number} Completed: 1 accounts" in out.getvalue()
    assert len(csv_rows(preview)) == 2
    assert path.read_bytes() == b"".join(result.stream(preview))


def test_wait_rates_again_a_chunk_that_raised_before_writing_the_csv(
    tmp_path, settings, monkeypatch
):
    """Outside the tests' sync mode a chunk that raised goes back to the queue; --wait rates
    it again itself (or waits for the worker that took it), never writing a partial CSV."""
    from billruns.preview import execution as preview_execution

    settings.BILLCYCLE_CHUNK_SIZE = 1
    for _ in range(3):
        ChargeFactory(subscription__account__batch="Batch3")
    monkeypatch.setattr(preview_execution, "async_task", lambda *args: None)  # nobody serves it
    rate = preview_execution.rate_chunk
    calls = []

    def once_broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("connection reset")
        return rate(*args, **kwargs)

    monkeypatch.setattr(preview_execution, "rate_chunk", once_broken)
    out, path = io.StringIO(), tmp_path / "p.csv"
    call_command(
        "preview_bill_run", "--batch", "Batch3", "--target-date", "2026-02-01",
        "--invoice-date", "2026-02-01", "--wait", "--output", str(path), stdout=out,
    )  # fmt: skip
    preview = BillingPreviewRun.objects.get()
    assert preview.status == "Completed" and len(calls) == 4
    assert len(path.read_text().splitlines()) == 1 + 3 * 2


def test_a_preview_canceled_while_the_command_waits_is_one_line_exit_1_and_no_file(
    tmp_path, monkeypatch
):
    from billruns.management.commands import preview_bill_run as command

    ChargeFactory(subscription__account__batch="Batch3")
    rate = command.preview_chunk

    def canceled_first(*, chunk_id):
        chunk = BillingPreviewChunk.objects.select_related("preview").get(pk=chunk_id)
        previews.cancel_preview(preview=chunk.preview)
        return rate(chunk_id=chunk_id)

    monkeypatch.setattr(command, "preview_chunk", canceled_first)
    path = tmp_path / "p.csv"
    with pytest.raises(CommandError, match=r"BPR-00000001 was canceled: it has no result\."):
        call_command(
            "preview_bill_run", "--batch", "Batch3", "--target-date", "2026-02-01",
            "--wait", "--output", str(path), stdout=io.StringIO(),
        )  # fmt: skip
    assert not path.exists()


def test_the_watchdog_queues_nothing_twice_while_a_preview_chunk_is_being_rated(monkeypatch):
    for _ in range(2):
        ChargeFactory()
    preview = previews.create_preview(
        terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None, enqueue=False
    )
    previews.start_preview(preview_id=preview.pk, enqueue=False, chunk_size=1)
    now = timezone.now()
    first, second = preview.chunks.order_by("sequence")
    # A worker rates the first chunk (live lease); the second waits its turn in the queue.
    BillingPreviewChunk.objects.filter(pk=first.pk).update(
        status="Running", started_at=now, lease_until=leases.until(now)
    )
    BillingPreviewRun.objects.filter(pk=preview.pk).update(updated_at=now - 2 * leases.length())
    queued = []
    monkeypatch.setattr(previews, "async_task", lambda *args: queued.append(args))
    from billruns import recovery

    monkeypatch.setattr(recovery, "async_task", lambda *args: queued.append(args))
    assert recover(now).previews == 0
    assert queued == []


def test_the_watchdog_never_takes_a_chunk_whose_lease_was_renewed_meanwhile(monkeypatch):
    """Between the watchdog's read of lapsed leases and its reset, the worker's heartbeat
    renews the lease: the reset must not take the chunk from it."""
    ChargeFactory()
    preview = previews.create_preview(
        terms=RunTerms(invoice_date=FEB1, target_date=FEB1), acting_user=None, enqueue=False
    )
    previews.start_preview(preview_id=preview.pk, enqueue=False)
    now = timezone.now()
    chunk = preview.chunks.get()
    BillingPreviewChunk.objects.filter(pk=chunk.pk).update(
        status="Running", started_at=now - dt.timedelta(minutes=5), lease_until=now
    )
    monkeypatch.setattr(previews, "async_task", lambda *args: None)
    values_list = type(BillingPreviewChunk.objects.all()).values_list

    def read_then_renewed(self, *fields, **kwargs):
        rows = list(values_list(self, *fields, **kwargs))
        if fields == ("id", "started_at"):  # the watchdog's read of lapsed leases
            BillingPreviewChunk.objects.filter(pk=chunk.pk).update(lease_until=leases.until(now))
        return rows

    monkeypatch.setattr(type(BillingPreviewChunk.objects.all()), "values_list", read_then_renewed)
    previews.recover_previews(now + dt.timedelta(seconds=1), None)
    chunk.refresh_from_db()
    assert chunk.status == "Running"


def test_terms_changed_after_back_make_a_new_preview_not_the_old_one(
    logged_in, django_capture_on_commit_callbacks
):
    from billruns.preview.views import create_view  # noqa: F401 (the page under test)
    from tests.billruns.test_pages import form_data

    ChargeFactory(subscription__account__batch="Batch1")
    url = "/bill-runs/previews/new/"
    with django_capture_on_commit_callbacks(execute=True):
        first = logged_in.post(url, form_data(target_date="2026-02-01"))
        again = logged_in.post(url, form_data(target_date="2026-02-01"))  # a double click
        changed = logged_in.post(url, form_data(target_date="2026-03-01"))  # after Back
    assert first["Location"] == again["Location"] != changed["Location"]
    assert list(BillingPreviewRun.objects.order_by("id").values_list("target_date", flat=True)) == [
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    ]
