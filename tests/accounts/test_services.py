"""The subscription lifecycle services (DESIGN §9): each change writes its Amendment, and each
refusal is one sentence that leaves nothing behind."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Amendment, Charge, Subscription
from accounts.services import (
    AmendmentError,
    accounts_bulk_create,
    add_charge,
    build_successor,
    cancel_subscription,
    change_charge,
    remove_charge,
)
from tests.factories import ChargeFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
APR16 = dt.date(2026, 4, 16)


def history(subscription):
    return list(
        Amendment.objects.filter(subscription=subscription)
        .order_by("id")
        .values_list("kind", "charge__number", "effective_date", "actor__username", "details")
    )


def snapshot():
    """Everything a refused amendment must leave as it was."""
    return (
        sorted(Subscription.objects.values_list("id", "status", "canceled_on")),
        sorted(Charge.objects.values_list("id", "price", "quantity", "effective_end")),
        Amendment.objects.count(),
    )


def test_canceling_ends_the_running_charges_the_day_before(user):
    running = ChargeFactory(effective_start=dt.date(2026, 1, 1))
    subscription = running.subscription
    later = ChargeFactory(subscription=subscription, effective_start=dt.date(2026, 6, 1))
    ended = ChargeFactory(
        subscription=subscription,
        effective_start=dt.date(2026, 1, 1),
        effective_end=dt.date(2026, 2, 28),
    )
    subscription = cancel_subscription(
        subscription=subscription, cancel_date=APR16, acting_user=user
    )
    assert (subscription.status, subscription.canceled_on) == ("Canceled", APR16)
    ends = dict(Charge.objects.values_list("id", "effective_end"))
    assert ends == {
        running.pk: dt.date(2026, 4, 15),
        later.pk: None,  # starts after the cancellation: the subscription's date stops it
        ended.pk: dt.date(2026, 2, 28),
    }
    assert history(subscription) == [
        ("Cancel", None, APR16, "olivia", {"charges_ended": [running.number]})
    ]


@pytest.mark.parametrize(
    ("setup", "cancel_date", "message"),
    [
        ({"status": "Canceled", "canceled_on": dt.date(2026, 3, 1)}, APR16, "already canceled"),
        ({}, dt.date(2025, 12, 31), "is before S"),
    ],
)
def test_a_refused_cancellation_changes_nothing(setup, cancel_date, message):
    charge = ChargeFactory(subscription=SubscriptionFactory(**setup))
    before = snapshot()
    with pytest.raises(AmendmentError, match=message):
        cancel_subscription(subscription=charge.subscription, cancel_date=cancel_date)
    assert snapshot() == before


def test_a_price_change_ends_the_charge_and_starts_its_successor(user):
    charge = ChargeFactory(price=Decimal("30.00"), charged_through=dt.date(2026, 4, 30))
    successor = change_charge(
        charge=charge, effective_date=APR16, price=Decimal("35.00"), acting_user=user
    )
    charge.refresh_from_db()
    assert charge.effective_end == dt.date(2026, 4, 15)
    assert (successor.replaces, successor.effective_start, successor.price) == (
        charge,
        APR16,
        Decimal("35.00"),
    )
    assert successor.number != charge.number and successor.charged_through is None
    assert (successor.name, successor.billing_period) == (charge.name, charge.billing_period)
    assert history(charge.subscription) == [
        (
            "ChangeCharge",
            charge.number,
            APR16,
            "olivia",
            {"price": ["30", "35"], "successor": successor.number},
        )
    ]


def test_a_charge_that_billed_nothing_is_changed_in_place_from_its_start():
    charge = ChargeFactory(quantity=Decimal("2"))
    changed = change_charge(
        charge=charge, effective_date=charge.effective_start, quantity=Decimal("5")
    )
    assert changed.pk == charge.pk and changed.quantity == Decimal("5")
    assert Charge.objects.count() == 1


@pytest.mark.parametrize(
    ("charge_fields", "change", "message"),
    [
        ({}, {"price": Decimal("100.00")}, "already has these terms"),
        ({}, {"effective_date": dt.date(2025, 12, 1), "price": Decimal("1")}, "before C"),
        (
            {"effective_end": dt.date(2026, 3, 31)},
            {"price": Decimal("1")},
            "already ended on 2026-03-31",
        ),
        (
            {"charge_type": "OneTime", "billing_period": ""},
            {"price": Decimal("1")},
            "one-time charge",
        ),
        (
            {"charged_through": dt.date(2026, 1, 31)},
            {"effective_date": dt.date(2026, 1, 1), "price": Decimal("1")},
            "billed from its first day",
        ),
        ({}, {"tiers": [{"up_to": None, "unit_price": 0.1}]}, "tiers"),
        (
            {"subscription__status": "Canceled", "subscription__canceled_on": APR16},
            {"price": Decimal("1")},
            "is canceled",
        ),
    ],
)
def test_a_refused_change_changes_nothing(charge_fields, change, message):
    charge = ChargeFactory(**charge_fields)
    before = snapshot()
    change = {"effective_date": APR16, **change}
    with pytest.raises(AmendmentError, match=message):
        change_charge(charge=charge, **change)
    assert snapshot() == before


def test_a_changed_charge_is_amended_through_its_successor():
    charge = ChargeFactory()
    successor = change_charge(charge=charge, effective_date=APR16, price=Decimal("120"))
    with pytest.raises(AmendmentError, match=f"amend its successor {successor.number}"):
        change_charge(charge=charge, effective_date=dt.date(2026, 3, 1), price=Decimal("90"))


def bulk_change(subscription, *, effective_date, before, after):
    """A charge and its successor written by accounts_bulk_create, as the demo seed writes one."""
    charge = ChargeFactory.build(subscription=subscription, **before)
    successor = build_successor(charge, effective_date=effective_date, **after)
    accounts_bulk_create(
        accounts=[], subscriptions=[], charges=[charge, successor], using="default"
    )
    return charge, successor


def terms(charge):
    """What a charge row says, but for which row it is."""
    row = Charge.objects.filter(pk=charge.pk).values().get()
    for key in ("id", "number", "replaces_id", "created_at", "updated_at"):
        row.pop(key)
    return row


def test_a_change_written_in_bulk_matches_what_change_charge_writes():
    change = {"price": Decimal("35.00"), "quantity": Decimal("3")}
    charge = ChargeFactory(price=Decimal("30.00"))
    successor = change_charge(charge=charge, effective_date=APR16, **change)
    bulk, bulk_successor = bulk_change(
        charge.subscription, effective_date=APR16, before={"price": Decimal("30.00")}, after=change
    )

    charge.refresh_from_db()
    assert (terms(bulk), terms(bulk_successor)) == (terms(charge), terms(successor))
    assert Charge.objects.get(pk=bulk_successor.pk).replaces_id == bulk.pk
    assert bulk_successor.number > bulk.number > successor.number
    service_history, bulk_history = history(charge.subscription)
    assert bulk_history == (
        "ChangeCharge",
        bulk.number,
        APR16,
        None,
        {"price": ["30", "35"], "quantity": ["1", "3"], "successor": bulk_successor.number},
    )
    assert service_history[4] | {"successor": bulk_successor.number} == bulk_history[4]


def test_a_successor_that_does_not_continue_its_predecessor_is_not_written():
    subscription = SubscriptionFactory()
    charge = ChargeFactory.build(subscription=subscription, effective_end=APR16)
    successor = ChargeFactory.build(
        subscription=subscription, effective_start=APR16, price=Decimal("1"), replaces=charge
    )
    before = snapshot()
    with pytest.raises(ValueError, match="must continue a new charge"):
        accounts_bulk_create(
            accounts=[], subscriptions=[], charges=[charge, successor], using="default"
        )
    assert snapshot() == before


def test_removing_a_charge_ends_it_the_day_before(user):
    charge = ChargeFactory()
    remove_charge(charge=charge, effective_date=APR16, acting_user=user)
    charge.refresh_from_db()
    assert charge.effective_end == dt.date(2026, 4, 15)
    assert history(charge.subscription) == [
        ("RemoveCharge", charge.number, APR16, "olivia", {"effective_end": [None, "2026-04-15"]})
    ]


@pytest.mark.parametrize(
    ("effective_date", "message"),
    [(dt.date(2026, 1, 1), "remove it from a later day"), (dt.date(2025, 6, 1), "before C")],
)
def test_a_refused_removal_changes_nothing(effective_date, message):
    charge = ChargeFactory()
    before = snapshot()
    with pytest.raises(AmendmentError, match=message):
        remove_charge(charge=charge, effective_date=effective_date)
    assert snapshot() == before


def test_adding_a_charge_writes_it_and_its_amendment(user):
    subscription = SubscriptionFactory()
    charge = add_charge(
        subscription=subscription,
        acting_user=user,
        name="Support",
        charge_type="Recurring",
        charge_model="FlatFee",
        price=Decimal("25.00"),
        billing_period="Month",
        effective_start=APR16,
    )
    assert (charge.account_id, charge.number.startswith("C")) == (subscription.account_id, True)
    assert history(subscription) == [
        (
            "AddCharge",
            charge.number,
            APR16,
            "olivia",
            {"name": "Support", "price": "25", "quantity": "1", "tiers": []},
        )
    ]


@pytest.mark.parametrize(
    ("subscription_fields", "fields", "message"),
    [
        ({"status": "Canceled", "canceled_on": APR16}, {}, "is canceled"),
        ({}, {"effective_start": dt.date(2025, 1, 1)}, "is before S"),
        ({}, {"billing_period": ""}, "billing period"),
    ],
)
def test_a_refused_addition_adds_nothing(subscription_fields, fields, message):
    subscription = SubscriptionFactory(**subscription_fields)
    before = snapshot()
    values = {
        "name": "Support",
        "charge_type": "Recurring",
        "charge_model": "FlatFee",
        "price": Decimal("25.00"),
        "billing_period": "Month",
        "effective_start": APR16,
        **fields,
    }
    with pytest.raises(AmendmentError, match=message):
        add_charge(subscription=subscription, **values)
    assert snapshot() == before
