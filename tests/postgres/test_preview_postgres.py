"""A preview and a bill run over the same accounts at the same time do not block or change each
other (DESIGN §11): the preview reads without locks, in one READ ONLY snapshot."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connections, transaction

from billruns import execution, rating, services
from billruns.models import BillingPreviewRun
from billruns.preview import services as previews
from billruns.preview.execution import preview_chunk
from billruns.terms import RunTerms
from invoicing.models import DocumentLine
from tests.billruns.test_preview import preview_lines, run_lines
from tests.factories import ChargeFactory, UsageRecordFactory, create_bill_run

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FEB1 = dt.date(2026, 2, 1)
TERMS = RunTerms(invoice_date=FEB1, target_date=FEB1)


def accounts_to_bill():
    for price in ("100.00", "250.00", "19.99"):
        charge = ChargeFactory(price=Decimal(price))
        usage = ChargeFactory(
            subscription=charge.subscription,
            charge_type="Usage",
            charge_model="PerUnit",
            billing_timing="InArrears",
            price=Decimal("0.5"),
        )
        UsageRecordFactory(charge=usage, quantity=Decimal("10"), usage_date=dt.date(2026, 1, 9))


def planned_preview() -> BillingPreviewRun:
    preview = previews.create_preview(terms=TERMS, acting_user=None, enqueue=False)
    previews.start_preview(preview_id=preview.pk, enqueue=False)
    return preview


def planned_run():
    with transaction.atomic():
        run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1, enqueue=False)
    services.start_bill_run(run_id=run.pk, enqueue=False)
    return run


def pause_in(monkeypatch, thread_name: str):
    """Hold the named thread inside its chunk's reads (after the accounts, before the charges)
    until released; returns (reached, release) events."""
    reached, release = threading.Event(), threading.Event()
    read_charges = rating._read_charges

    def paused(*args):
        if threading.current_thread().name == thread_name:
            reached.set()
            assert release.wait(timeout=20)
        return read_charges(*args)

    monkeypatch.setattr(rating, "_read_charges", paused)
    return reached, release


def in_thread(name: str, target) -> tuple[threading.Thread, list]:
    outcome: list = []

    def runner():
        try:
            outcome.append(target())
        except Exception as error:
            outcome.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=runner, name=name)
    thread.start()
    return thread, outcome


def test_a_run_bills_while_a_preview_holds_its_snapshot_and_the_preview_sees_the_same(
    monkeypatch,
):
    accounts_to_bill()
    preview = planned_preview()
    run = planned_run()
    reached, release = pause_in(monkeypatch, "preview")
    chunk = preview.chunks.get()
    thread, outcome = in_thread("preview", lambda: preview_chunk(chunk_id=chunk.pk))
    assert reached.wait(timeout=10)
    started = time.monotonic()
    for chunk_id in run.chunks.values_list("id", flat=True):
        assert execution.bill_chunk(chunk_id=chunk_id) is not None
    billing_seconds = time.monotonic() - started
    release.set()
    thread.join(timeout=20)
    assert outcome and outcome[0] is not None, outcome
    assert billing_seconds < 5, "the run waited for the preview"
    run.refresh_from_db()
    preview.refresh_from_db()
    assert (run.status, preview.status) == ("Completed", "Completed")
    # The preview read everything as it stood before the run: it shows what the run wrote.
    assert preview_lines(preview) == run_lines(run)
    assert DocumentLine.objects.count() == 3 * 3  # two months in advance and the usage


def test_a_preview_rates_while_a_run_holds_its_accounts_locked(monkeypatch):
    accounts_to_bill()
    run = planned_run()
    preview = planned_preview()
    reached, release = pause_in(monkeypatch, "run")
    run_chunk = run.chunks.get()
    thread, outcome = in_thread("run", lambda: execution.bill_chunk(chunk_id=run_chunk.pk))
    assert reached.wait(timeout=10)  # the run's accounts are locked FOR UPDATE now
    started = time.monotonic()
    assert preview_chunk(chunk_id=preview.chunks.get().pk) is not None
    preview_seconds = time.monotonic() - started
    release.set()
    thread.join(timeout=20)
    assert outcome and outcome[0] is not None, outcome
    assert preview_seconds < 5, "the preview waited for the run's locks"
    preview.refresh_from_db()
    run.refresh_from_db()
    assert (run.status, preview.status) == ("Completed", "Completed")
    assert preview_lines(preview) == run_lines(run)


def test_a_preview_s_reads_cannot_write(monkeypatch):
    """The READ ONLY transaction is the database's own guard that a preview writes nothing a
    run writes: a write slipped into its reads fails the chunk and changes nothing."""
    from accounts.models import Charge

    accounts_to_bill()
    preview = planned_preview()
    read_usage = rating._read_usage

    def writes(*args):
        Charge.objects.update(charged_through=FEB1)
        return read_usage(*args)

    monkeypatch.setattr(rating, "_read_usage", writes)
    chunk = preview.chunks.get()
    assert preview_chunk(chunk_id=chunk.pk) is None
    chunk.refresh_from_db()
    assert "read-only transaction" in chunk.error_message
    assert not Charge.objects.filter(charged_through__isnull=False).exists()
