"""Never stuck (DESIGN §6): a cancel puts back exactly what its run changed, postings and
cancels resume where they stopped and keep their user, and nothing stays in progress."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Charge, UsageRecord
from billruns import leases, services
from billruns.models import BillRun, CursorMove
from billruns.services import post as post_service
from billruns.services.lifecycle import InProgress
from invoicing.models import BillingDocument
from tests.factories import ChargeFactory, SubscriptionFactory, UsageRecordFactory

pytestmark = pytest.mark.django_db
JAN1, MAR1 = dt.date(2026, 1, 1), dt.date(2026, 3, 1)


def usage_charge(**fields) -> Charge:
    fields.setdefault("subscription", SubscriptionFactory())
    return ChargeFactory(
        charge_type=Charge.ChargeType.USAGE,
        charge_model=Charge.ChargeModel.PER_UNIT,
        billing_timing=Charge.BillingTiming.IN_ARREARS,
        price=Decimal("0.50"),
        **fields,
    )


def cursors(*charges) -> list:
    return [Charge.objects.get(pk=charge.pk).charged_through for charge in charges]


def test_cancel_puts_every_cursor_back_exactly_where_the_run_found_it(run_now, user):
    """Usage charges whose first period had no records, and charges billed before: each
    cursor goes back to its own old value, not to "the first line − 1 day"."""
    silent = usage_charge()  # no usage at all
    late_starter = usage_charge()  # usage in February only: January bills no line
    UsageRecordFactory(charge=late_starter, usage_date=dt.date(2026, 2, 10))
    steady = usage_charge()  # usage in January only
    UsageRecordFactory(charge=steady, usage_date=dt.date(2026, 1, 20))
    fee = ChargeFactory(subscription=steady.subscription)  # recurring, in advance
    first = run_now(invoice_date=dt.date(2026, 2, 1), target_date=dt.date(2026, 2, 1))
    found = cursors(silent, late_starter, steady, fee)
    assert found == [None, None, dt.date(2026, 1, 31), dt.date(2026, 2, 28)]
    run = run_now(invoice_date=MAR1, target_date=MAR1)
    assert cursors(silent, late_starter, steady, fee) == [
        None, dt.date(2026, 2, 28), dt.date(2026, 1, 31), dt.date(2026, 3, 31)
    ]  # fmt: skip
    # The one move its lines cannot tell (February's line does not start on the charge's
    # first day, yet it was never billed) is written down; the others are read off lines.
    assert list(CursorMove.objects.filter(bill_run=run).values_list("charge_id", "before")) == [
        (late_starter.pk, None)
    ]
    services.cancel_bill_run(run=run, acting_user=user)
    assert cursors(silent, late_starter, steady, fee) == found
    assert UsageRecord.objects.get(charge=late_starter).status == UsageRecord.Status.PENDING
    # January usage that arrives afterwards is billed: no revenue is lost to a cursor the
    # cancel left at January's end.
    UsageRecordFactory(charge=late_starter, usage_date=dt.date(2026, 1, 20), quantity=4)
    again = run_now(invoice_date=MAR1, target_date=MAR1)
    lines = again.documents.get(account=late_starter.account).lines
    assert sorted(lines.values_list("service_start", "amount")) == [
        (JAN1, Decimal("2.00")),
        (dt.date(2026, 2, 1), Decimal("5.00")),
    ]
    services.cancel_bill_run(run=again, acting_user=user)
    services.cancel_bill_run(run=first, acting_user=user)
    assert cursors(silent, late_starter, steady, fee) == [None, None, None, None]
    assert not UsageRecord.objects.exclude(status=UsageRecord.Status.PENDING).exists()


def test_a_cancel_stopped_part_way_goes_on_where_it_stopped_when_asked_again(
    run_now, user, settings, monkeypatch
):
    settings.BILLCYCLE_CHUNK_SIZE = 2
    # In the first chunk, a move only a CursorMove tells: were a resumed cancel to roll that
    # chunk back again, the cursor would no longer stand where the run left it.
    gap = usage_charge()
    UsageRecordFactory(charge=gap, usage_date=dt.date(2026, 2, 10))
    charges = [gap, *(ChargeFactory() for _ in range(4))]
    run = run_now(invoice_date=MAR1, target_date=MAR1)
    assert run.chunks_total == 3
    assert CursorMove.objects.filter(bill_run=run, charge=gap).exists()
    from billruns.services import cancel as cancel_service

    real = cancel_service._roll_back
    calls = []

    def dies_on_the_second_chunk(run, account_range):
        calls.append(account_range)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker is killed: nothing after this line runs
        return real(run, account_range)

    monkeypatch.setattr(cancel_service, "_roll_back", dies_on_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        services.cancel_bill_run(run=run, acting_user=user)
    run.refresh_from_db()
    assert run.status == "CancelInProgress"
    assert (
        sorted(run.documents.values_list("status", flat=True)) == ["Canceled"] * 2 + ["Draft"] * 3
    )
    # Asked again at once: its worker may still be alive.
    with pytest.raises(InProgress, match="is being canceled by a worker right now"):
        services.cancel_bill_run(run=run, acting_user=user)
    monkeypatch.setattr(cancel_service, "_roll_back", real)
    later = timezone.now() + leases.length() + dt.timedelta(seconds=1)
    run = services.cancel_bill_run(run=run, acting_user=user, now=later)
    assert run.status == "Canceled"
    assert set(run.documents.values_list("status", flat=True)) == {"Canceled"}
    assert cursors(*charges) == [None] * 5
    messages = list(run.events.order_by("at", "id").values_list("to_status", "message"))
    assert ("CancelInProgress", "Asked again: cancel in progress resumed") in messages


def test_a_posting_whose_worker_died_goes_on_when_asked_again_with_its_user(
    run_now, user, operator, settings, monkeypatch
):
    settings.BILLCYCLE_CHUNK_SIZE = 2
    monkeypatch.setattr(post_service, "POST_BATCH_CHUNKS", 1)
    for _ in range(5):
        ChargeFactory()
    run = run_now()
    real = post_service.in_range
    calls = []

    def dies_on_the_second_batch(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(post_service, "in_range", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        services.post_bill_run(run=run, acting_user=user)
    monkeypatch.setattr(post_service, "in_range", real)
    run.refresh_from_db()
    assert run.status == "PostInProgress"
    # The watchdog resumes it with nobody asking: the user who asked still posts them.
    later = timezone.now() + leases.length() + dt.timedelta(seconds=1)
    run = services.finish_posting(run_id=run.pk, now=later)
    assert run.status == "Posted"
    assert set(run.documents.values_list("posted_by", flat=True)) == {user.pk}
    assert run.lease_until is None


def test_asking_again_while_posting_resumes_with_the_new_user(run_now, user, operator):
    ChargeFactory()
    run = run_now()
    BillRun.objects.filter(pk=run.pk).update(status="PostInProgress")
    later = timezone.now() + leases.length() + dt.timedelta(seconds=1)
    run = services.post_bill_run(run=run, acting_user=operator, now=later)
    assert (run.status, run.posted_by) == ("Posted", operator)
    assert set(BillingDocument.objects.values_list("posted_by", flat=True)) == {operator.pk}


def test_a_run_page_offers_to_resume_a_posting_no_worker_is_at(run_now, logged_in, time_machine):
    ChargeFactory()
    run = run_now()
    time_machine.move_to(timezone.now(), tick=False)
    BillRun.objects.filter(pk=run.pk).update(status="PostInProgress", updated_at=timezone.now())
    page = logged_in.get(run.get_absolute_url()).content.decode()
    assert "Resume posting" not in page  # just claimed: its task is on its way
    assert "Posting: 0 of 1 document posted" in page
    time_machine.shift(leases.length() + dt.timedelta(seconds=1))
    page = logged_in.get(run.get_absolute_url()).content.decode()
    assert "Resume posting" in page
    assert 'id="unattended"' in page
