"""Every write to accounts data: the bulk writer the demo seed and the CSV import share, and the
subscription lifecycle (cancel, change, remove, add: DESIGN §9), each writing an Amendment."""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, Amendment, Charge, Subscription, UsageRecord
from core.errors import DomainError


def accounts_bulk_create(
    *,
    accounts: Sequence[Account],
    subscriptions: Sequence[Subscription],
    charges: Sequence[Charge],
    usage: Sequence[UsageRecord] = (),
    using: str,
) -> None:
    """Number and insert new accounts with their subscriptions, charges and usage, in bulk.

    Objects refer to each other through the related objects (`charge.subscription = sub`), not
    ids: bulk_create returns primary keys (SQLite >= 3.35, PostgreSQL), which the next model's
    foreign keys pick up. Numbers are reserved in the transaction that writes the rows, one
    sequence statement per model, so a failed write gives its numbers back.

    A charge whose `replaces` is another new charge of the same call is a change (DESIGN §9),
    written as `change_charge` writes one: the predecessor ends the day before the successor
    starts, the successor is inserted after the other charges (its foreign key needs the
    predecessor's id), and its ChangeCharge amendment is written with it. Numbers still follow
    the order given.
    """
    first, successors = [], []
    for charge in charges:
        # is_cached: a charge built without `replaces` is told apart without the descriptor.
        continues = Charge.replaces.is_cached(charge) and charge.replaces is not None
        (successors if continues else first).append(charge)
    for successor in successors:
        charge = successor.replaces
        if charge.pk is not None or charge.effective_end != successor.effective_start - DAY:
            raise ValueError(
                f"{successor.name} from {successor.effective_start} must continue a new charge "
                "of the same write that ends the day before."
            )
    with transaction.atomic(using=using):
        for model, rows in ((Account, accounts), (Subscription, subscriptions)):
            model.assign_numbers(rows, using=using)
            model.objects.using(using).bulk_create(rows)
        Charge.assign_numbers(charges, using=using)
        Charge.objects.using(using).bulk_create(first)
        Charge.objects.using(using).bulk_create(successors)
        UsageRecord.objects.using(using).bulk_create(usage)
        at = timezone.now()
        Amendment.objects.using(using).bulk_create(
            [_change_amendment(successor, at=at) for successor in successors]
        )


def _change_amendment(successor: Charge, *, at) -> Amendment:
    """The amendment `change_charge` writes for the change that `successor` carries."""
    charge = successor.replaces
    new_terms = {field: getattr(successor, field) for field in PRICING_FIELDS}
    return Amendment(
        subscription=charge.subscription,
        charge=charge,
        kind=Amendment.Kind.CHANGE_CHARGE,
        effective_date=successor.effective_start,
        actor=None,
        at=at,
        details={**_changes(charge, new_terms), "successor": successor.number},
    )


# -- the subscription lifecycle (DESIGN §9) -----------------------------------------------------
#
# Dates are the first day of the change (Zuora's effective date): the old terms serve through the
# day before. Past dates are allowed, billed ones included: the next bill run credits what was
# billed beyond the new end (DESIGN §5) and bills a successor from its own start.

DAY = dt.timedelta(days=1)
PRICING_FIELDS = ("price", "quantity", "tiers")


class AmendmentError(DomainError):
    """A change the subscription's state refuses; the message is one readable sentence."""


def cancel_subscription(*, subscription: Subscription, cancel_date: dt.date, acting_user=None):
    """Canceled from `cancel_date`: every charge still running that day ends the day before; a
    charge starting on or after it never bills (the subscription's canceled_on stops it)."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.status == Subscription.Status.CANCELED:
            raise AmendmentError(
                f"{subscription} is already canceled from {subscription.canceled_on}."
            )
        if cancel_date < subscription.term_start:
            raise AmendmentError(
                f"{cancel_date} is before {subscription}'s start on {subscription.term_start}."
            )
        running = subscription.charges.filter(effective_start__lt=cancel_date).filter(
            Q(effective_end__isnull=True) | Q(effective_end__gte=cancel_date)
        )
        ended = list(running.order_by("id").values_list("number", flat=True))
        running.update(effective_end=cancel_date - DAY, updated_at=timezone.now())
        subscription.status = Subscription.Status.CANCELED
        subscription.canceled_on = cancel_date
        subscription.save(update_fields=["status", "canceled_on", "updated_at"])
        _amend(
            subscription,
            Amendment.Kind.CANCEL,
            effective_date=cancel_date,
            actor=acting_user,
            details={"charges_ended": ended},
        )
    return subscription


def change_charge(
    *,
    charge: Charge,
    effective_date: dt.date,
    price: Decimal | None = None,
    quantity: Decimal | None = None,
    tiers: list | None = None,
    acting_user=None,
) -> Charge:
    """New price, quantity or tiers from `effective_date`: `charge` ends the day before and its
    successor (same name, type, model, period, timing; a new number) starts that day. A charge
    that has billed nothing and changes from its first day is edited in place. Returns the charge
    that carries the new terms."""
    with transaction.atomic():
        charge = _lock_charge(charge)
        _refuse_unless_amendable(charge, effective_date)
        if charge.charge_type == Charge.ChargeType.ONE_TIME:
            raise AmendmentError(
                f"{charge.number} is a one-time charge: remove it and add another instead."
            )
        wanted = {"price": price, "quantity": quantity, "tiers": tiers}
        changes = _changes(charge, wanted)
        if not changes:
            raise AmendmentError(f"{charge.number} already has these terms: nothing changes.")
        new_terms = {field: value for field, value in wanted.items() if value is not None}
        if effective_date == charge.effective_start:
            if charge.charged_through is not None:
                raise AmendmentError(
                    f"{charge.number} has billed from its first day: change it from a later day."
                )
            for field, value in new_terms.items():
                setattr(charge, field, value)
            _save_valid(charge)
            carrier, details = charge, changes
        else:
            successor = build_successor(charge, effective_date=effective_date, **new_terms)
            _save_valid(successor)
            charge.save(update_fields=["effective_end", "updated_at"])
            carrier, details = successor, {**changes, "successor": successor.number}
        _amend(
            charge.subscription,
            Amendment.Kind.CHANGE_CHARGE,
            charge=charge,
            effective_date=effective_date,
            actor=acting_user,
            details=details,
        )
    return carrier


def build_successor(charge: Charge, *, effective_date: dt.date, **new_terms) -> Charge:
    """The unsaved charge that continues `charge` from `effective_date` with `new_terms` (price,
    quantity, tiers), `charge` ending the day before (in memory): what a change writes, for
    `change_charge` and for changes written in bulk (the demo seed)."""
    terms = {field: getattr(charge, field) for field in PRICING_FIELDS} | new_terms
    successor = Charge(
        subscription=charge.subscription,
        account=charge.account,
        name=charge.name,
        charge_type=charge.charge_type,
        charge_model=charge.charge_model,
        uom=charge.uom,
        billing_period=charge.billing_period,
        billing_timing=charge.billing_timing,
        effective_start=effective_date,
        effective_end=charge.effective_end,
        replaces=charge,
        **terms,
    )
    charge.effective_end = effective_date - DAY
    return successor


def remove_charge(*, charge: Charge, effective_date: dt.date, acting_user=None) -> Charge:
    """Ends `charge` on `effective_date − 1 day`."""
    with transaction.atomic():
        charge = _lock_charge(charge)
        _refuse_unless_amendable(charge, effective_date)
        if effective_date == charge.effective_start:
            # A charge ends on or after its first day (a check constraint): ending it before
            # that would need a row that says "never served".
            raise AmendmentError(
                f"{charge.number} starts on {effective_date}: remove it from a later day."
            )
        before = charge.effective_end
        charge.effective_end = effective_date - DAY
        charge.save(update_fields=["effective_end", "updated_at"])
        _amend(
            charge.subscription,
            Amendment.Kind.REMOVE_CHARGE,
            charge=charge,
            effective_date=effective_date,
            actor=acting_user,
            details={"effective_end": [_as_json(before), _as_json(charge.effective_end)]},
        )
    return charge


def add_charge(*, subscription: Subscription, acting_user=None, **fields) -> Charge:
    """A new charge on an active subscription, from its `effective_start`."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.status == Subscription.Status.CANCELED:
            raise AmendmentError(f"{subscription} is canceled: no charge can be added to it.")
        account = fields.pop("account", None)
        if account is not None and account.pk != subscription.account_id:
            raise AmendmentError(f"{subscription} belongs to another account than {account}.")
        start = fields.get("effective_start")
        if start is None:
            raise AmendmentError("A charge needs the day it starts.")
        check_charge_start(start, term_start=subscription.term_start, of=str(subscription))
        charge = Charge(subscription=subscription, account_id=subscription.account_id, **fields)
        _save_valid(charge)
        _amend(
            subscription,
            Amendment.Kind.ADD_CHARGE,
            charge=charge,
            effective_date=start,
            actor=acting_user,
            details={
                "name": charge.name,
                **{field: _as_json(getattr(charge, field)) for field in PRICING_FIELDS},
            },
        )
    return charge


def check_charge_start(start: dt.date, *, term_start: dt.date, of: str) -> None:
    """A charge starts on or after its subscription does (`of`: how to name the subscription)."""
    if start < term_start:
        raise AmendmentError(f"{start} is before {of}'s start on {term_start}.")


def _lock_charge(charge: Charge) -> Charge:
    return Charge.objects.select_for_update().select_related("subscription").get(pk=charge.pk)


def _refuse_unless_amendable(charge: Charge, effective_date: dt.date) -> None:
    subscription = charge.subscription
    if subscription.status == Subscription.Status.CANCELED:
        raise AmendmentError(f"{subscription} is canceled: its charges no longer change.")
    if effective_date < charge.effective_start:
        raise AmendmentError(
            f"{effective_date} is before {charge.number}'s start on {charge.effective_start}."
        )
    if effective_date < subscription.term_start:
        raise AmendmentError(
            f"{effective_date} is before {subscription}'s start on {subscription.term_start}."
        )
    if charge.effective_end is not None and charge.effective_end < effective_date:
        raise AmendmentError(
            f"{charge.number} already ended on {charge.effective_end}, before {effective_date}."
        )
    if Charge.objects.filter(replaces=charge).exists():
        raise AmendmentError(
            f"{charge.number} was already changed: amend its successor "
            f"{charge.successor.number} instead."
        )


def _save_valid(charge: Charge) -> None:
    """Save after the model's own validation, its first complaint as the refusal."""
    try:
        charge.full_clean(validate_unique=False)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        where = "" if field == NON_FIELD_ERRORS else f"{field.replace('_', ' ')}: "
        raise AmendmentError(f"{where}{messages[0]}") from None
    charge.save()


def _amend(subscription, kind, *, effective_date, actor, details, charge=None) -> Amendment:
    return Amendment.objects.create(
        subscription=subscription,
        charge=charge,
        kind=kind,
        effective_date=effective_date,
        actor=actor,
        at=timezone.now(),
        details=details,
    )


def _changes(charge: Charge, terms: dict) -> dict:
    """What new `terms` change in `charge`, as an amendment's details say it: before, after."""
    return {
        field: [_as_json(getattr(charge, field)), _as_json(value)]
        for field, value in terms.items()
        if value is not None and _as_json(value) != _as_json(getattr(charge, field))
    }


def _as_json(value):
    """Decimals and dates as strings in an amendment's details (money is never a float)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
