"""Bill runs over customers who changed (DESIGN §5 credit back, §9 renewal), end to end."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Q

from accounts.models import Amendment, Charge, Subscription
from accounts.services import cancel_subscription, change_charge
from billruns import services
from billruns.execution import bill_chunk
from invoicing.models import BillingDocument, DocumentLine
from tests.billruns.test_execution import make_accounts
from tests.factories import ChargeFactory, SubscriptionFactory, create_bill_run

pytestmark = pytest.mark.django_db
APR1, APR16, MAY1 = dt.date(2026, 4, 1), dt.date(2026, 4, 16), dt.date(2026, 5, 1)


def lines_of(run):
    return sorted(
        DocumentLine.objects.filter(document__bill_run=run).values_list(
            "description", "service_start", "service_end", "amount", "credits_id"
        )
    )


@pytest.fixture
def april_billed(run_now):
    """$100 a month in advance from January, billed through April."""
    charge = ChargeFactory(name="Plan", price=Decimal("100.00"))
    run_now(invoice_date=APR1, target_date=APR1)
    charge.refresh_from_db()
    assert charge.charged_through == dt.date(2026, 4, 30)
    return charge


def test_a_cancellation_inside_a_billed_month_is_credited_by_the_next_run(april_billed, run_now):
    april = DocumentLine.objects.get(charge=april_billed, service_start=APR1)
    cancel_subscription(subscription=april_billed.subscription, cancel_date=APR16)
    run = run_now(invoice_date=MAY1, target_date=MAY1)
    memo = BillingDocument.objects.get(bill_run=run)
    assert (memo.kind, memo.amount) == ("CreditMemo", Decimal("50.00"))
    # A credit memo shows its lines as positive credits (DESIGN: lines turned on a memo).
    assert lines_of(run) == [
        (
            "Credit: Plan, 2026-04-16 – 2026-04-30, 15/30 days",
            APR16,
            dt.date(2026, 4, 30),
            Decimal("50.00"),
            april.pk,
        )
    ]
    april_billed.refresh_from_db()
    assert april_billed.charged_through == dt.date(2026, 4, 15)
    # Nothing more to credit: the next run writes nothing for the charge.
    later = run_now(invoice_date=MAY1, target_date=dt.date(2026, 6, 1))
    assert not BillingDocument.objects.filter(bill_run=later).exists()


def test_canceling_the_crediting_run_restores_everything_and_the_next_run_credits_once(
    april_billed, run_now, user
):
    cancel_subscription(subscription=april_billed.subscription, cancel_date=APR16)
    crediting = run_now(invoice_date=MAY1, target_date=MAY1)
    services.cancel_bill_run(run=crediting, acting_user=user)
    april_billed.refresh_from_db()
    assert april_billed.charged_through == dt.date(2026, 4, 30)
    assert set(
        DocumentLine.objects.filter(credits__isnull=False).values_list("canceled", flat=True)
    ) == {True}
    again = run_now(invoice_date=MAY1, target_date=MAY1)
    assert [line[3] for line in lines_of(again)] == [Decimal("50.00")]
    active_credits = DocumentLine.objects.filter(credits__isnull=False, canceled=False)
    assert active_credits.count() == 1


def test_a_quantity_change_credits_the_old_terms_and_bills_the_new_for_the_same_days(
    run_now,
):
    charge = ChargeFactory(name="Seats", charge_model="PerUnit", price=Decimal("10"))
    Charge.objects.filter(pk=charge.pk).update(quantity=Decimal("3"))
    run_now(invoice_date=APR1, target_date=APR1)  # April: 3 seats, 30.00
    successor = change_charge(
        charge=Charge.objects.get(pk=charge.pk), effective_date=APR16, quantity=Decimal("5")
    )
    run = run_now(invoice_date=APR16, target_date=APR16)
    invoice = BillingDocument.objects.get(bill_run=run)
    amounts = sorted((line[1], line[3]) for line in lines_of(run))  # (service start, amount)
    assert amounts == [(APR16, Decimal("-15.00")), (APR16, Decimal("25.00"))]
    assert (invoice.kind, invoice.amount) == ("Invoice", Decimal("10.00"))
    successor.refresh_from_db()
    assert successor.charged_through == dt.date(2026, 4, 30)


def test_a_term_without_renewal_stops_billing_at_its_end(run_now):
    subscription = SubscriptionFactory(term_end=dt.date(2026, 4, 15))
    ChargeFactory(subscription=subscription, name="Plan")
    run = run_now(invoice_date=APR1, target_date=MAY1)
    assert [line[1:4] for line in lines_of(run)][-1] == (
        APR1,
        dt.date(2026, 4, 15),
        Decimal("50.00"),
    )


def test_an_auto_renew_term_is_renewed_by_the_run_and_canceling_the_run_undoes_it(run_now, user):
    subscription = SubscriptionFactory(
        term_end=dt.date(2026, 3, 31), auto_renew=True, renewal_term_months=12
    )
    ChargeFactory(subscription=subscription, name="Plan")
    run = run_now(invoice_date=APR1, target_date=APR1)
    subscription.refresh_from_db()
    assert subscription.term_end == dt.date(2027, 3, 31)
    renew = Amendment.objects.get(subscription=subscription)
    assert (renew.kind, renew.effective_date, renew.actor) == ("Renew", APR1, None)
    assert [line[1] for line in lines_of(run)][-1] == APR1  # April billed in the new term
    services.cancel_bill_run(run=run, acting_user=user)
    subscription.refresh_from_db()
    assert subscription.term_end == dt.date(2026, 3, 31)
    assert not Amendment.objects.exists()


def test_a_chunk_of_changed_customers_costs_the_same_queries_for_10_and_1000_accounts(
    django_capture_on_commit_callbacks, run_now
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for size, batch in ((10, "Batch10"), (1000, "Batch11")):
        make_accounts(size, batch)
        run_now(invoice_date=dt.date(2026, 2, 1), target_date=dt.date(2026, 2, 1), batches=[batch])
        # Half the customers canceled mid-February (credited), the others renew their term.
        subscriptions = Subscription.objects.filter(account__batch=batch)
        canceled = subscriptions.filter(id__in=subscriptions.values("id")[: size // 2])
        Charge.objects.filter(subscription__in=canceled).update(effective_end=dt.date(2026, 2, 14))
        canceled.update(status="Canceled", canceled_on=dt.date(2026, 2, 15))
        subscriptions.filter(status="Active").update(term_end=dt.date(2026, 2, 28), auto_renew=True)
        with django_capture_on_commit_callbacks(execute=False):
            run = create_bill_run(
                invoice_date=dt.date(2026, 3, 1), target_date=dt.date(2026, 3, 1), batches=[batch]
            )
            services.start_bill_run(run_id=run.pk)
        with CaptureQueriesContext(connection) as queries:
            result = bill_chunk(chunk_id=run.chunks.get().pk)
        assert result.accounts == size
        assert DocumentLine.objects.filter(~Q(credits=None), document__bill_run=run).exists()
        assert Amendment.objects.filter(kind="Renew", details__bill_run=run.number).count() == (
            size - size // 2
        )
        counts[size] = len(queries.captured_queries)
    assert counts[10] == counts[1000]
