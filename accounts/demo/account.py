"""One demo account: its subscriptions, their charges and the account's pending usage, drawn from
the account's own random stream into a `Part` of rows that `seeding` writes in bulk."""

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from accounts.demo.catalog import (
    BILL_CYCLE_DAY,
    CURRENCY,
    FIRST_NAMES,
    LAST_NAMES,
    MAILBOXES,
    MICROS,
    PAYMENT_TERM,
    PERIOD,
    PLAN,
    START,
    STATUS,
    SUBSCRIPTIONS,
    USAGE,
    USAGE_CHARGES,
    USAGE_PERIOD,
    Currency,
    UsageProduct,
    company,
)
from accounts.demo.changes import add_changes
from accounts.demo.draws import DAY, add_months, below, between
from accounts.models import BATCHES, Account, Charge, Subscription, UsageRecord

Type = Charge.ChargeType
Model = Charge.ChargeModel
Timing = Charge.BillingTiming


@dataclass
class Part:
    accounts: list
    subscriptions: list
    charges: list
    usage: list


def _tiers(product: UsageProduct, currency: Currency) -> list[dict]:
    return [
        {
            "up_to": up_to,
            "unit_price": format(currency.unit_price(unit), "f"),
            "flat_price": format(currency.price(flat), "f"),
        }
        for up_to, unit, flat in product.tiers
    ]


def _usage_quantity(rand, product: UsageProduct, magnitude: int) -> Decimal:
    low = 10**magnitude
    return Decimal(low + below(rand, 9 * low)).scaleb(-product.places)


def add_account(part: Part, *, index: int, seed: int, as_of: dt.date, source: str) -> None:
    rand = random.Random(f"{seed}/{index}").random
    currency = CURRENCY(rand)
    status = STATUS(rand)
    bill_cycle_day = BILL_CYCLE_DAY(rand)
    name, domain = company(rand, currency)
    if status == Account.Status.DRAFT:
        # Zuora keeps an account in Draft while its bill-to contact is missing.
        bill_to_name = bill_to_email = ""
    else:
        first, last = (
            FIRST_NAMES[below(rand, len(FIRST_NAMES))],
            LAST_NAMES[below(rand, len(LAST_NAMES))],
        )
        bill_to_name = f"{first} {last}"
        if rand() < 0.5:
            mailbox = f"{first}.{last}".lower()
        else:
            mailbox = MAILBOXES[below(rand, len(MAILBOXES))]
        bill_to_email = f"{mailbox}@{domain}.example"
    account = Account(
        name=name,
        status=status,
        currency=currency.code,
        bill_cycle_day=bill_cycle_day,
        batch=BATCHES[below(rand, len(BATCHES))],
        bill_to_name=bill_to_name,
        bill_to_email=bill_to_email,
        payment_term_days=PAYMENT_TERM(rand),
    )
    part.accounts.append(account)
    account_canceled = status == Account.Status.CANCELED
    plans = [
        _add_subscription(
            part,
            rand,
            account=account,
            currency=currency,
            as_of=as_of,
            account_canceled=account_canceled,
            source=source,
        )
        for _ in range(SUBSCRIPTIONS(rand))
    ]
    # Drawn last, so that everything else an account draws is as it was without changes.
    add_changes(part, rand, plans=plans, currency=currency, as_of=as_of)


def _add_subscription(
    part, rand, *, account, currency, as_of, account_canceled, source
) -> tuple[Charge, Charge | None]:
    """Returns the subscription's plan charge and its "Additional users" charge, if any."""
    bcd = account.bill_cycle_day
    when = START(rand)
    if account_canceled and (when == "future" or when[0] < 2):
        when = (2, 24)  # a canceled customer's subscriptions started well before it left
    if when == "future":
        start = as_of + dt.timedelta(days=1 + below(rand, 60))
    else:
        months_back = when[0] + below(rand, when[1] - when[0] + 1)
        if rand() < 0.72:
            start = add_months(as_of, -months_back, on=bcd)  # aligned to the bill cycle day
        else:
            start = add_months(as_of, -months_back, on=1 + below(rand, 31))  # mid-period

    canceled_on = None
    if account_canceled:
        canceled_on = between(rand, start + DAY, max(start + DAY, as_of))
    elif rand() < 0.05:
        # Some cancellations are already effective, some scheduled for the coming weeks.
        canceled_on = between(rand, start + DAY, max(start + DAY, as_of + dt.timedelta(30)))
    # Last day a charge may be billed (DESIGN: effective_end is inclusive).
    last_day = canceled_on - DAY if canceled_on else None

    term_end, term_months = None, 12
    if rand() < 0.3:
        # A termed subscription that auto-renews: the current term is the one containing as_of.
        term_months = (12, 24, 36)[below(rand, 3)]
        terms = 1
        while (term_end := add_months(start, terms * term_months, on=start.day) - DAY) < as_of:
            terms += 1
    subscription = Subscription(
        account=account,
        status=Subscription.Status.CANCELED if canceled_on else Subscription.Status.ACTIVE,
        term_start=start,
        term_end=term_end,
        auto_renew=term_end is not None,
        renewal_term_months=term_months,
        canceled_on=canceled_on,
    )
    part.subscriptions.append(subscription)

    def add(**fields) -> Charge:
        end = fields.pop("effective_end", None)
        if last_day is not None and fields["charge_type"] != Type.ONE_TIME:
            end = last_day if end is None else min(end, last_day)
        charge = Charge(subscription=subscription, account=account, effective_end=end, **fields)
        part.charges.append(charge)
        return charge

    def later_start() -> dt.date:
        """An add-on's start: on any day after the subscription began, never after it ended."""
        latest = max(start, min(as_of, last_day or as_of))
        return between(rand, start, latest)

    plan, list_prices, seat_usd, seat_share = PLAN(rand)
    period, period_label, factor_num, factor_den = PERIOD(rand)
    timing = Timing.IN_ADVANCE if rand() < 0.82 else Timing.IN_ARREARS
    # Negotiated discounts on the list price for some customers: 5, 10, 15 or 20 %.
    discount = 5 * (1 + below(rand, 4)) if rand() < 0.15 else 0
    monthly = list_prices[below(rand, len(list_prices))] * MICROS * (100 - discount) // 100
    base_price = currency.price(monthly * factor_num // factor_den)
    recurring = {
        "charge_type": Type.RECURRING,
        "billing_period": period,
        "billing_timing": timing,
        "effective_start": start,
    }
    plan_charge = add(
        name=f"{plan} plan ({period_label})",
        charge_model=Model.FLAT_FEE,
        price=base_price,
        **recurring,
    )
    users_charge = None
    if seat_usd and rand() < seat_share:
        seats = 1 + below(rand, 10) if rand() < 0.6 else 10 + below(rand, 241)
        users_charge = add(
            name="Additional users",
            charge_model=Model.PER_UNIT,
            price=currency.price(seat_usd * MICROS * factor_num // factor_den),
            quantity=Decimal(seats),
            uom="user",
            **recurring,
        )
    if rand() < 0.06:
        # A launch discount: a credit (negative price) for the first months only.
        months = (3, 6, 12)[below(rand, 3)]
        add(
            name="Launch discount",
            charge_model=Model.FLAT_FEE,
            price=-currency.price(monthly * factor_num // factor_den // 10),
            effective_end=add_months(start, months, on=start.day) - DAY,
            **recurring,
        )
    if rand() < 0.25:
        add(
            name="Setup fee",
            charge_type=Type.ONE_TIME,
            charge_model=Model.FLAT_FEE,
            price=currency.price((99, 199, 499, 1500)[below(rand, 4)] * MICROS),
            effective_start=start,
        )
    if rand() < 0.06:
        add(
            name="Onboarding services",
            charge_type=Type.ONE_TIME,
            charge_model=Model.PER_UNIT,
            price=currency.price((150, 180, 225)[below(rand, 3)] * MICROS),
            quantity=Decimal(8 + below(rand, 153)).scaleb(-1),  # 0.8 to 16.0 hours, by tenths
            uom="hour",
            effective_start=later_start(),
        )
    if rand() < 0.03:
        add(
            name="Service credit",
            charge_type=Type.ONE_TIME,
            charge_model=Model.FLAT_FEE,
            price=-currency.price((25, 50, 100, 250)[below(rand, 4)] * MICROS),
            effective_start=later_start(),
        )
    for _ in range(USAGE_CHARGES(rand)):
        product = USAGE(rand)
        usage_start = start if rand() < 0.8 else later_start()
        charge = add(
            name=product.name,
            charge_type=Type.USAGE,
            charge_model=product.model,
            price=currency.unit_price(product.tiers[0][1])
            if product.model == Model.PER_UNIT
            else Decimal(0),
            tiers=[] if product.model == Model.PER_UNIT else _tiers(product, currency),
            uom=product.uom,
            billing_period=USAGE_PERIOD(rand),
            billing_timing=Timing.IN_ARREARS,
            effective_start=usage_start,
        )
        _add_usage(part, rand, charge=charge, product=product, as_of=as_of, source=source)
    return plan_charge, users_charge


def _add_usage(part, rand, *, charge, product, as_of, source) -> None:
    """Pending usage of the last two months (or of the charge's last two), as an import leaves it."""
    last = min(as_of, charge.effective_end or as_of)
    first = max(charge.effective_start, last - dt.timedelta(days=61))
    if first > last or rand() < 0.1:
        return  # not started yet, or no usage reported so far
    low, high = product.magnitude
    magnitude = low + below(rand, high - low)
    for _ in range(1 + below(rand, 6)):
        part.usage.append(
            UsageRecord(
                account=charge.account,
                charge=charge,
                quantity=_usage_quantity(rand, product, magnitude),
                usage_date=between(rand, first, last),
                status=UsageRecord.Status.PENDING,
                source=source,
            )
        )
