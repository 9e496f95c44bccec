"""Two runs over the same accounts at the same moment bill each period exactly once."""

import datetime as dt

import pytest
from django.db import transaction

from billruns import services
from billruns.execution import bill_chunk
from billruns.models import BillRun
from invoicing.models import BillingDocument, DocumentLine
from tests.factories import ChargeFactory, create_bill_run
from tests.postgres.test_constraints_postgres import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FEB1 = dt.date(2026, 2, 1)


def planned_run() -> BillRun:
    """A run planned into chunks whose tasks are not queued: the test bills them."""
    with transaction.atomic():
        run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1, enqueue=False)
    services.start_bill_run(run_id=run.pk, enqueue=False)
    return run


def test_two_runs_racing_over_the_same_accounts_bill_each_period_once(settings):
    settings.BILLCYCLE_CHUNK_SIZE = 5
    charges = [ChargeFactory() for _ in range(20)]
    runs = [planned_run(), planned_run()]
    chunk_ids = [list(run.chunks.order_by("sequence").values_list("id", flat=True)) for run in runs]

    def bill_all(ids):
        def target():
            return [bill_chunk(chunk_id=chunk_id) for chunk_id in ids]

        return target

    outcomes = run_concurrently(bill_all(chunk_ids[0]), bill_all(chunk_ids[1]))
    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    # Every charge has exactly January and February, whichever run wrote them.
    lines = DocumentLine.objects.filter(canceled=False)
    assert lines.count() == 2 * len(charges)
    assert set(lines.values_list("charge_id", flat=True)) == {c.pk for c in charges}
    for run in runs:
        run.refresh_from_db()
        assert run.status == BillRun.Status.COMPLETED
    assert sum(run.number_of_invoices for run in runs) == len(charges)
    numbers = sorted(BillingDocument.objects.values_list("number", flat=True))
    assert numbers == [f"INV{n:08d}" for n in range(1, len(charges) + 1)]


def test_two_workers_sharing_one_run_finish_it_with_nothing_missing_or_twice(settings):
    settings.BILLCYCLE_CHUNK_SIZE = 3
    charges = [ChargeFactory() for _ in range(25)]
    run = planned_run()
    chunk_ids = list(run.chunks.order_by("sequence").values_list("id", flat=True))

    def worker():
        # Like a qcluster worker that is handed every chunk: the claim decides who bills it.
        return sum(bill_chunk(chunk_id=chunk_id) is not None for chunk_id in chunk_ids)

    outcomes = run_concurrently(worker, worker)
    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert sum(outcomes) == len(chunk_ids) == 9
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.number_of_invoices) == ("Completed", 9, 25)
    documents = BillingDocument.objects.filter(bill_run=run)
    assert sorted(documents.values_list("account_id", flat=True)) == sorted(
        c.account_id for c in charges
    )
    assert DocumentLine.objects.filter(document__bill_run=run).count() == 50


def test_two_runs_racing_over_canceled_customers_credit_each_once(settings):
    from accounts.models import Charge, Subscription

    settings.BILLCYCLE_CHUNK_SIZE = 5
    charges = [ChargeFactory() for _ in range(10)]
    first = planned_run()
    for chunk_id in first.chunks.values_list("id", flat=True):
        bill_chunk(chunk_id=chunk_id)  # January and February billed in advance
    # Every customer canceled from January 16: half of January and all of February to credit.
    Charge.objects.update(effective_end=dt.date(2026, 1, 15))
    Subscription.objects.update(status="Canceled", canceled_on=dt.date(2026, 1, 16))
    runs = [planned_run(), planned_run()]
    chunk_ids = [list(run.chunks.order_by("sequence").values_list("id", flat=True)) for run in runs]

    def bill_all(ids):
        def target():
            return [bill_chunk(chunk_id=chunk_id) for chunk_id in ids]

        return target

    outcomes = run_concurrently(bill_all(chunk_ids[0]), bill_all(chunk_ids[1]))
    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    credits = DocumentLine.objects.filter(canceled=False, credits__isnull=False)
    # One credit of January 16–31 and one of February per charge, whichever run wrote them.
    assert credits.count() == 2 * len(charges)
    assert sorted(set(credits.values_list("service_start", flat=True))) == [
        dt.date(2026, 1, 16),
        FEB1,
    ]
    assert set(Charge.objects.values_list("charged_through", flat=True)) == {dt.date(2026, 1, 15)}
