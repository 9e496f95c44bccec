"""Races of issue 17's integrity rules on PostgreSQL: the same file imported twice at once, and
documents of one run posted or set back to Draft at once."""

import datetime as dt
import io
import threading
import types
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.utils import timezone

from accounts.imports import ImportFileError, accounts, import_accounts, import_usage, usage
from accounts.models import Account, UsageRecord
from billruns.models import BillRun
from invoicing import services as document_services
from invoicing.models import BillingDocument
from tests.factories import AccountFactory, ChargeFactory, create_bill_run
from tests.postgres.test_constraints_postgres import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FEB1 = dt.date(2026, 2, 1)
USAGE = "account_number,charge_number,quantity,usage_date\nA00000101,C00000011,25.02,2026-01-10\n"
ACCOUNTS = (
    "account_ref,account_name,currency,bill_cycle_day,bill_to_email,subscription_ref,term_start,"
    "charge_name,charge_type,charge_model,price,billing_period,effective_start\n"
    "acme,Acme Corp,USD,1,billing@acme.example,main,2026-01-01,Platform,Recurring,FlatFee,100.00,"
    "Month,2026-01-01\n"
)


def both_past(module, name, monkeypatch, *, before: bool):
    """Make two threads both reach (before=True) or both leave `module.name` before either
    goes on: the worst interleaving of two imports of one file."""
    barrier = threading.Barrier(2)
    original = getattr(module, name)
    called = threading.local()

    def wrapped(*args, **kwargs):
        if getattr(called, "already", False):  # only each thread's first call meets the other
            return original(*args, **kwargs)
        called.already = True
        if before:
            barrier.wait(timeout=10)
            return original(*args, **kwargs)
        result = original(*args, **kwargs)
        barrier.wait(timeout=10)
        return result

    monkeypatch.setattr(module, name, wrapped)


def test_the_same_usage_file_imported_twice_at_once_is_written_once(monkeypatch):
    account = AccountFactory(number="A00000101", currency="EUR")
    ChargeFactory(
        number="C00000011", subscription__account=account, charge_type="Usage",
        charge_model="PerUnit", billing_timing="InArrears", price=Decimal("0.50"),
    )  # fmt: skip
    # Both look for an earlier import of the rows before either records its own: the moment
    # the import reads the clock for `imported_at`, its second reading of it.
    barrier = threading.Barrier(2)
    calls = threading.local()

    def now():
        calls.count = getattr(calls, "count", 0) + 1
        if calls.count == 2:
            barrier.wait(timeout=10)
        return timezone.now()

    monkeypatch.setattr(
        usage, "timezone", types.SimpleNamespace(now=now, localtime=timezone.localtime)
    )

    def upload():
        return import_usage(io.StringIO(USAGE, newline=""), file_name="usage.csv")

    outcomes = run_concurrently(upload, upload)
    assert UsageRecord.objects.count() == 1, outcomes
    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "ImportResult",
        "RepeatedFileError",
    ]
    # The second is told what the first import was, in one line (not the database's error).
    (refusal,) = [str(outcome) for outcome in outcomes if isinstance(outcome, ImportFileError)]
    assert refusal.startswith("These rows were already imported: usage.csv on "), refusal
    assert "\n" not in refusal


def test_the_same_accounts_file_imported_twice_at_once_creates_each_account_once(monkeypatch):
    # Two clicks on Import, or two operators with the same file: both check, then both write.
    both_past(accounts, "_check_existing_accounts", monkeypatch, before=False)

    def upload():
        return import_accounts(io.StringIO(ACCOUNTS, newline=""), file_name="accounts.csv")

    outcomes = run_concurrently(upload, upload)
    assert Account.objects.filter(name="Acme Corp").count() == 1, outcomes
    assert any(isinstance(outcome, ImportFileError) for outcome in outcomes), outcomes


@pytest.fixture
def run_of_two():
    """A Completed run with two Draft invoices, billed here."""
    ChargeFactory(price=Decimal("10.00"), effective_start=FEB1)
    ChargeFactory(price=Decimal("20.00"), effective_start=FEB1)
    run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1)
    run.refresh_from_db()
    assert run.status == BillRun.Status.COMPLETED
    return run, *BillingDocument.objects.filter(bill_run=run).order_by("amount")


def held_open(action, started: threading.Event, release: threading.Event):
    """`action` in a transaction that stays open (uncommitted) until `release` is set."""

    def target():
        try:
            with transaction.atomic():
                action()
                started.set()
                assert release.wait(timeout=10)
        finally:
            started.set()
            connections.close_all()

    return threading.Thread(target=target)


def test_two_last_drafts_posted_at_once_make_the_run_posted_once(run_of_two):
    run, first, second = run_of_two
    started, release = threading.Event(), threading.Event()
    thread = held_open(
        lambda: document_services.post_document(document=first, acting_user=None), started, release
    )
    thread.start()
    assert started.wait(timeout=10)
    other = threading.Thread(
        target=lambda: (
            document_services.post_document(document=second, acting_user=None),
            connections.close_all(),
        )
    )
    other.start()  # waits for the run's lock
    release.set()
    thread.join(timeout=20)
    other.join(timeout=20)
    run.refresh_from_db()
    assert run.status == BillRun.Status.POSTED
    assert run.events.filter(from_status="Completed", to_status="Posted").count() == 1


def test_a_draft_posted_while_another_is_set_back_leaves_no_draft_in_a_posted_run(run_of_two):
    run, first, second = run_of_two
    document_services.post_document(document=first, acting_user=None)
    started, release = threading.Event(), threading.Event()
    # An operator sets the first invoice back to Draft; while that commits, another posts the
    # second, which looks like the run's last draft.
    thread = held_open(
        lambda: document_services.unpost_document(document=first, acting_user=None),
        started,
        release,
    )
    thread.start()
    assert started.wait(timeout=10)
    poster = threading.Thread(
        target=lambda: (
            document_services.post_document(document=second, acting_user=None),
            connections.close_all(),
        )
    )
    poster.start()
    poster.join(timeout=2)  # done at once, or waiting for the unpost: both are fine
    release.set()
    thread.join(timeout=20)
    poster.join(timeout=20)
    run.refresh_from_db()
    drafts = BillingDocument.objects.filter(bill_run=run, status="Draft").count()
    assert (run.status, drafts) in {("Completed", 1), ("Posted", 0)}, (run.status, drafts)
