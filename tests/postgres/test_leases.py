"""A chunk slower than its lease keeps it while its heartbeat renews the lease; without the
heartbeat a second worker takes it over and the first one's work is thrown away."""

import datetime as dt
import threading
import time

import pytest
from django.db import transaction

from billruns import execution, leases, rating, services
from billruns.models import BillRun
from billruns.recovery import recover
from invoicing.models import DocumentLine
from tests.factories import ChargeFactory, create_bill_run
from tests.postgres.test_constraints_postgres import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FEB1 = dt.date(2026, 2, 1)
LEASE = 1.5  # seconds: the chunk below takes twice as long


class NoHeartbeat:
    """leases.Heartbeat with the renewal switched off."""

    def __init__(self, renew, *, name):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass


@pytest.mark.parametrize("renewed", [True, False], ids=["renewed", "renewal-disabled"])
def test_a_slow_chunk_keeps_its_lease_only_while_it_is_renewed(settings, monkeypatch, renewed):
    settings.BILLCYCLE_LEASE_SECONDS = LEASE
    if not renewed:
        monkeypatch.setattr(leases, "Heartbeat", NoHeartbeat)
    ChargeFactory()
    with transaction.atomic():
        run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1, enqueue=False)
    services.start_bill_run(run_id=run.pk, enqueue=False)
    chunk = run.chunks.get()
    read_usage = rating._read_usage
    in_transaction = threading.Event()

    def slow_read_usage(*args):
        in_transaction.set()
        time.sleep(2 * LEASE)  # the worker is alive, just slow
        return read_usage(*args)

    monkeypatch.setattr(rating, "_read_usage", slow_read_usage)

    def first_worker():
        return execution.bill_chunk(chunk_id=chunk.pk)

    def watchdog():
        in_transaction.wait(timeout=10)
        time.sleep(LEASE + 0.5)  # past the claim's first lease
        return str(recover())

    billed, found = run_concurrently(first_worker, watchdog)
    run.refresh_from_db()
    chunk.refresh_from_db()
    assert run.status == BillRun.Status.COMPLETED
    assert DocumentLine.objects.filter(document__bill_run=run).count() == 2  # billed once
    if renewed:
        assert found.startswith("0 lapsed chunks")
        assert billed is not None and billed.lines == 2  # the first worker's work stands
        assert chunk.attempts == 1
    else:
        # The lease lapsed under a live worker: the watchdog handed the chunk to another
        # claim, and the first worker's finished work was rolled back (ChunkTakenOver).
        assert found.startswith("1 lapsed chunks")
        assert billed is None
        assert chunk.attempts == 2
