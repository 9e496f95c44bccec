"""Realistic, reproducible demo data: accounts with subscriptions, charges and pending usage.

`seed_demo_accounts()` is the one entry point (used by `manage.py seed_demo`, and by benchmarks
that need N accounts in the configured database). Design choices, and why:

- Every account draws from its own `random.Random` seeded from (seed, account index). The data
  therefore does not depend on how the work is split into parts, and the first N accounts of a
  larger seed are exactly the accounts of a smaller one.
- No floats touch money or quantities: prices are integers of micro-dollars converted with
  integer arithmetic, then `Decimal(units).scaleb(-places)`. The RNG's floats only pick choices.
- Accounts are generated and written in parts (one transaction each, numbers reserved inside
  it), so memory stays flat from 2,000 to 1,000,000 accounts.
- Nothing is billed yet: `charged_through` is null and every usage record is Pending, so a bill
  run with target date = `as_of` has work in every batch and on every bill cycle day.
"""

import datetime as dt
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS, connections

from accounts.models import BATCHES, Account, Charge, Subscription, UsageRecord
from accounts.services import accounts_bulk_create

DEFAULT_PART_SIZE = 2_000
DEMO_PASSWORD = "billcycle-demo"
DEMO_LOGINS = (("operator", "Billing Operator"), ("viewer", "Billing Viewer"))

Type = Charge.ChargeType
Model = Charge.ChargeModel
Period = Charge.BillingPeriod
Timing = Charge.BillingTiming


class _Pick:
    """A weighted choice that costs one `random()` call (random.choices is ~30x slower)."""

    def __init__(self, weighted: Sequence[tuple[object, int]]):
        self.values = [value for value, _ in weighted]
        self.cumulative = list(accumulate(weight for _, weight in weighted))
        self.total = self.cumulative[-1]

    def __call__(self, rand: Callable[[], float]):
        return self.values[bisect_right(self.cumulative, rand() * self.total)]


def _below(rand: Callable[[], float], n: int) -> int:
    """0 <= result < n, uniformly; cheaper than randrange in the hot loop."""
    return int(rand() * n)


# --- Currencies -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Currency:
    code: str
    places: int  # ISO 4217 minor unit
    # Fixed demo rate, local units per USD as a fraction (not market data: only plausible).
    rate_num: int
    rate_den: int
    legal_forms: tuple[str, ...]

    @property
    def unit_places(self) -> int:
        # Unit prices go two places finer than the minor unit (0.0079 USD per SMS), except in
        # currencies without a minor unit, whose prices stay whole (1 JPY per SMS).
        return self.places + 2 if self.places else 0

    def amount(self, usd_micros: int, places: int) -> Decimal:
        """Convert micro-dollars to this currency at `places` decimals, half up, no float."""
        sign = -1 if usd_micros < 0 else 1
        step = 10 ** (6 - places) * self.rate_den  # micro-dollars × den per local step
        steps = (2 * abs(usd_micros) * self.rate_num + step) // (2 * step)
        if usd_micros and not steps:
            steps = 1  # a tiny price rounds up to the smallest step rather than to free
        return Decimal(sign * steps).scaleb(-places)

    def price(self, usd_micros: int) -> Decimal:
        return self.amount(usd_micros, self.places)

    def unit_price(self, usd_micros: int) -> Decimal:
        return self.amount(usd_micros, self.unit_places)


CURRENCIES = (
    _Currency("USD", 2, 1, 1, ("Inc.", "LLC", "Corp.", "Co.")),
    _Currency("EUR", 2, 92, 100, ("GmbH", "SA", "B.V.", "S.r.l.", "SAS", "Oy")),
    _Currency("GBP", 2, 79, 100, ("Ltd", "PLC", "LLP")),
    _Currency("JPY", 0, 100, 1, ("K.K.", "Co., Ltd.")),
    _Currency("CAD", 2, 136, 100, ("Inc.", "Ltd.")),
    _Currency("AUD", 2, 152, 100, ("Pty Ltd",)),
    _Currency("CHF", 2, 88, 100, ("AG", "SA", "GmbH")),
    _Currency("SEK", 2, 1050, 100, ("AB",)),
    # Three decimals: the edge for rounding to a currency's own minor unit.
    _Currency("BHD", 3, 377, 1000, ("W.L.L.", "B.S.C.")),
)
_currency = _Pick(list(zip(CURRENCIES, (38, 20, 12, 8, 6, 5, 4, 4, 3), strict=True)))

# --- Names ----------------------------------------------------------------------------------
_BRANDS = (
    "Acme Alpine Apex Atlas Aurora Beacon Birch Blue Bright Brook Canyon Cedar Civic Clear "
    "Coastal Cobalt Copper Crescent Delta Echo Ember Evergreen Falcon Frontier Golden Granite "
    "Harbor Highland Horizon Iron Juniper Keystone Lakeside Lumen Maple Meridian Metro Nimbus "
    "Northwind Nova Oak Orion Pinnacle Pioneer Polar Prairie Quantum Redwood Riverbend "
    "Sapphire Silver Sterling Stone Summit Tidewater Union Vantage Vertex Willow Zenith"
).split()
_TRADES = (
    "Analytics Biotech Capital Cloud Consulting Data Dynamics Energy Farms Foods Freight Health "
    "Holdings Hospitality Industries Instruments Insurance Labs Learning Logistics "
    "Manufacturing Materials Media Motors Networks Outfitters Partners Pharma Retail Robotics "
    "Security Software Solutions Studios Systems Technologies Telecom Textiles Travel Ventures"
).split()
_FIRST = (
    "Aiko Alex Amara Ana Ben Carla Chen Daniel Elena Emma Fatima Felix Grace Hannah Hiro Ines "
    "Jonas Julia Karim Kenji Laura Leo Lina Lucas Maria Mateo Mia Noah Nora Olivia Omar Paul "
    "Priya Rafael Sara Sofia Tom Yara Yuki Zoe"
).split()
_LAST = (
    "Ahmed Andersson Baker Bernard Costa Dubois Eriksson Fischer Garcia Green Hansen Hughes "
    "Ito Jensen Kim Kowalski Lambert Lopez Martin Meyer Moreau Nakamura Nguyen Novak Okafor "
    "Patel Rossi Santos Schmidt Silva Singh Suzuki Tanaka Taylor Thompson Walker Weber "
    "Williams Wilson Young"
).split()
_MAILBOXES = ("billing", "accounts", "ap", "finance", "invoices")


def _company(rand, currency: _Currency) -> tuple[str, str]:
    """A company name and its made-up mail domain (.example never resolves)."""
    form = currency.legal_forms[_below(rand, len(currency.legal_forms))]
    shape = rand()
    if shape < 0.7:
        brand, trade = _BRANDS[_below(rand, len(_BRANDS))], _TRADES[_below(rand, len(_TRADES))]
        return f"{brand} {trade} {form}", f"{brand}-{trade}".lower()
    if shape < 0.85:
        first, second = _LAST[_below(rand, len(_LAST))], _LAST[_below(rand, len(_LAST))]
        trade = _TRADES[_below(rand, len(_TRADES))]
        return f"{first} & {second} {trade} {form}", f"{first}{second}".lower()
    brand, trade = _BRANDS[_below(rand, len(_BRANDS))], _TRADES[_below(rand, len(_TRADES))]
    return f"{brand} {trade} Group {form}", f"{brand}-group".lower()


# --- Catalogue ------------------------------------------------------------------------------
_M = 1_000_000  # micro-dollars per dollar

# Plan: name, monthly list prices in whole USD, seat price per month in USD, seat probability.
_PLAN = _Pick(
    [
        (("Starter", (19, 29, 49), 0, 0.0), 30),
        (("Team", (79, 99, 149), 9, 0.5), 28),
        (("Business", (299, 499, 799), 15, 0.65), 22),
        (("Enterprise", (1499, 2499, 4999), 25, 0.75), 8),
        (("Premium support", (150, 300, 600), 0, 0.0), 7),
        (("Compliance add-on", (60, 120), 0, 0.0), 5),
    ]
)
# Billing period: label, price factor over a month as (numerator, denominator). Annual prepay
# gets two months free, as SaaS price lists usually do.
_PERIOD = _Pick(
    [
        ((Period.MONTH, "monthly", 1, 1), 62),
        ((Period.QUARTER, "quarterly", 3, 1), 13),
        ((Period.ANNUAL, "annual", 10, 1), 14),
        ((Period.SEMI_ANNUAL, "semi-annual", 6, 1), 5),
        ((Period.WEEK, "weekly", 12, 52), 6),
    ]
)
_USAGE_PERIOD = _Pick([(Period.MONTH, 85), (Period.QUARTER, 8), (Period.WEEK, 7)])


@dataclass(frozen=True)
class _UsageProduct:
    name: str
    uom: str
    model: str
    # PerUnit: one (None, unit price) pair; Tiered/Volume: (up_to, unit price, flat price)
    # with prices in micro-dollars and the last up_to None.
    tiers: tuple[tuple[int | None, int, int], ...]
    places: int  # decimals of a usage quantity
    # A customer's typical quantity is 10**e steps of 10**-places, e in [low, high).
    magnitude: tuple[int, int]


_USAGE = _Pick(
    [
        (
            _UsageProduct(
                "API requests",
                "1K requests",
                Model.TIERED,
                ((1_000, 400_000, 0), (10_000, 300_000, 0), (None, 200_000, 0)),
                3,
                (2, 7),
            ),
            30,
        ),
        (
            _UsageProduct(
                "Storage",
                "GB",
                Model.VOLUME,
                ((100, 250_000, 0), (1_000, 200_000, 0), (10_000, 150_000, 0), (None, 100_000, 0)),
                3,
                (3, 8),
            ),
            22,
        ),
        (
            _UsageProduct(
                "SMS messages", "message", Model.PER_UNIT, ((None, 7_900, 0),), 0, (0, 5)
            ),
            15,
        ),
        (
            _UsageProduct(
                "Compute",
                "vCPU-hour",
                Model.TIERED,
                # The first 100 hours are a flat bundle; beyond it each hour is charged.
                ((100, 0, 25 * _M), (None, 45_000, 0)),
                2,
                (2, 6),
            ),
            15,
        ),
        (_UsageProduct("Data transfer", "GB", Model.PER_UNIT, ((None, 90_000, 0),), 3, (3, 7)), 10),
        (
            _UsageProduct(
                "Events ingested",
                "1M events",
                Model.VOLUME,
                ((50, 1_200_000, 10 * _M), (500, 900_000, 0), (None, 600_000, 0)),
                2,
                (1, 5),
            ),
            8,
        ),
    ]
)

_SUBSCRIPTIONS = _Pick([(1, 46), (2, 30), (3, 13), (4, 7), (5, 4)])
_USAGE_CHARGES = _Pick([(0, 55), (1, 33), (2, 12)])
# Months before as_of in which a subscription starts; "future" is a start after as_of.
_START = _Pick([((0, 2), 33), ((3, 6), 30), ((7, 12), 20), ((13, 35), 14), ("future", 3)])
_STATUS = _Pick(
    [(Account.Status.ACTIVE, 94), (Account.Status.DRAFT, 3), (Account.Status.CANCELED, 3)]
)
# Many customers bill on the 1st, some mid-month, the rest anywhere (29–31 included).
_BILL_CYCLE_DAY = _Pick([(1, 30), (15, 8)] + [(day, 2) for day in range(2, 32) if day != 15])
_PAYMENT_TERM = _Pick([(0, 8), (15, 15), (30, 55), (45, 12), (60, 10)])


# --- Dates ----------------------------------------------------------------------------------
def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _month_day(year: int, month: int, day: int) -> dt.date:
    """`day` of a month, clamped to its last day (bill cycle day 31 in April is the 30th)."""
    return dt.date(year, month, min(day, _days_in_month(year, month)))


def _add_months(day: dt.date, months: int, *, on: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return _month_day(year, month + 1, on)


def _between(rand, first: dt.date, last: dt.date) -> dt.date:
    """A uniformly random date in [first, last]."""
    return dt.date.fromordinal(
        first.toordinal() + _below(rand, last.toordinal() - first.toordinal() + 1)
    )


_DAY = dt.timedelta(days=1)


# --- One account ----------------------------------------------------------------------------
@dataclass
class _Part:
    accounts: list
    subscriptions: list
    charges: list
    usage: list


def _tiers(product: _UsageProduct, currency: _Currency) -> list[dict]:
    return [
        {
            "up_to": up_to,
            "unit_price": format(currency.unit_price(unit), "f"),
            "flat_price": format(currency.price(flat), "f"),
        }
        for up_to, unit, flat in product.tiers
    ]


def _usage_quantity(rand, product: _UsageProduct, magnitude: int) -> Decimal:
    low = 10**magnitude
    return Decimal(low + _below(rand, 9 * low)).scaleb(-product.places)


def _add_account(part: _Part, *, index: int, seed: int, as_of: dt.date, source: str) -> None:
    rand = random.Random(f"{seed}/{index}").random
    currency = _currency(rand)
    status = _STATUS(rand)
    bill_cycle_day = _BILL_CYCLE_DAY(rand)
    name, domain = _company(rand, currency)
    if status == Account.Status.DRAFT:
        # Zuora keeps an account in Draft while its bill-to contact is missing.
        bill_to_name = bill_to_email = ""
    else:
        first, last = _FIRST[_below(rand, len(_FIRST))], _LAST[_below(rand, len(_LAST))]
        bill_to_name = f"{first} {last}"
        if rand() < 0.5:
            mailbox = f"{first}.{last}".lower()
        else:
            mailbox = _MAILBOXES[_below(rand, len(_MAILBOXES))]
        bill_to_email = f"{mailbox}@{domain}.example"
    account = Account(
        name=name,
        status=status,
        currency=currency.code,
        bill_cycle_day=bill_cycle_day,
        batch=BATCHES[_below(rand, len(BATCHES))],
        bill_to_name=bill_to_name,
        bill_to_email=bill_to_email,
        payment_term_days=_PAYMENT_TERM(rand),
    )
    part.accounts.append(account)
    account_canceled = status == Account.Status.CANCELED
    for _ in range(_SUBSCRIPTIONS(rand)):
        _add_subscription(
            part,
            rand,
            account=account,
            currency=currency,
            as_of=as_of,
            account_canceled=account_canceled,
            source=source,
        )


def _add_subscription(part, rand, *, account, currency, as_of, account_canceled, source) -> None:
    bcd = account.bill_cycle_day
    when = _START(rand)
    if account_canceled and (when == "future" or when[0] < 2):
        when = (2, 24)  # a canceled customer's subscriptions started well before it left
    if when == "future":
        start = as_of + dt.timedelta(days=1 + _below(rand, 60))
    else:
        months_back = when[0] + _below(rand, when[1] - when[0] + 1)
        if rand() < 0.72:
            start = _add_months(as_of, -months_back, on=bcd)  # aligned to the bill cycle day
        else:
            start = _add_months(as_of, -months_back, on=1 + _below(rand, 31))  # mid-period

    canceled_on = None
    if account_canceled:
        canceled_on = _between(rand, start + _DAY, max(start + _DAY, as_of))
    elif rand() < 0.05:
        # Some cancellations are already effective, some scheduled for the coming weeks.
        canceled_on = _between(rand, start + _DAY, max(start + _DAY, as_of + dt.timedelta(30)))
    # Last day a charge may be billed (DESIGN: effective_end is inclusive).
    last_day = canceled_on - _DAY if canceled_on else None

    term_end, term_months = None, 12
    if rand() < 0.3:
        # A termed subscription that auto-renews: the current term is the one containing as_of.
        term_months = (12, 24, 36)[_below(rand, 3)]
        terms = 1
        while (term_end := _add_months(start, terms * term_months, on=start.day) - _DAY) < as_of:
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
        return _between(rand, start, latest)

    plan, list_prices, seat_usd, seat_share = _PLAN(rand)
    period, period_label, factor_num, factor_den = _PERIOD(rand)
    timing = Timing.IN_ADVANCE if rand() < 0.82 else Timing.IN_ARREARS
    # Negotiated discounts on the list price for some customers: 5, 10, 15 or 20 %.
    discount = 5 * (1 + _below(rand, 4)) if rand() < 0.15 else 0
    monthly = list_prices[_below(rand, len(list_prices))] * _M * (100 - discount) // 100
    base_price = currency.price(monthly * factor_num // factor_den)
    recurring = {
        "charge_type": Type.RECURRING,
        "billing_period": period,
        "billing_timing": timing,
        "effective_start": start,
    }
    add(
        name=f"{plan} plan ({period_label})",
        charge_model=Model.FLAT_FEE,
        price=base_price,
        **recurring,
    )
    if seat_usd and rand() < seat_share:
        seats = 1 + _below(rand, 10) if rand() < 0.6 else 10 + _below(rand, 241)
        add(
            name="Additional users",
            charge_model=Model.PER_UNIT,
            price=currency.price(seat_usd * _M * factor_num // factor_den),
            quantity=Decimal(seats),
            uom="user",
            **recurring,
        )
    if rand() < 0.06:
        # A launch discount: a credit (negative price) for the first months only.
        months = (3, 6, 12)[_below(rand, 3)]
        add(
            name="Launch discount",
            charge_model=Model.FLAT_FEE,
            price=-currency.price(monthly * factor_num // factor_den // 10),
            effective_end=_add_months(start, months, on=start.day) - _DAY,
            **recurring,
        )
    if rand() < 0.25:
        add(
            name="Setup fee",
            charge_type=Type.ONE_TIME,
            charge_model=Model.FLAT_FEE,
            price=currency.price((99, 199, 499, 1500)[_below(rand, 4)] * _M),
            effective_start=start,
        )
    if rand() < 0.06:
        add(
            name="Onboarding services",
            charge_type=Type.ONE_TIME,
            charge_model=Model.PER_UNIT,
            price=currency.price((150, 180, 225)[_below(rand, 3)] * _M),
            quantity=Decimal(8 + _below(rand, 153)).scaleb(-1),  # 0.8 to 16.0 hours, by tenths
            uom="hour",
            effective_start=later_start(),
        )
    if rand() < 0.03:
        add(
            name="Service credit",
            charge_type=Type.ONE_TIME,
            charge_model=Model.FLAT_FEE,
            price=-currency.price((25, 50, 100, 250)[_below(rand, 4)] * _M),
            effective_start=later_start(),
        )
    for _ in range(_USAGE_CHARGES(rand)):
        product = _USAGE(rand)
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
            billing_period=_USAGE_PERIOD(rand),
            billing_timing=Timing.IN_ARREARS,
            effective_start=usage_start,
        )
        _add_usage(part, rand, charge=charge, product=product, as_of=as_of, source=source)


def _add_usage(part, rand, *, charge, product, as_of, source) -> None:
    """Pending usage of the last two months (or of the charge's last two), as an import leaves it."""
    last = min(as_of, charge.effective_end or as_of)
    first = max(charge.effective_start, last - dt.timedelta(days=61))
    if first > last or rand() < 0.1:
        return  # not started yet, or no usage reported so far
    low, high = product.magnitude
    magnitude = low + _below(rand, high - low)
    for _ in range(1 + _below(rand, 6)):
        part.usage.append(
            UsageRecord(
                account=charge.account,
                charge=charge,
                quantity=_usage_quantity(rand, product, magnitude),
                usage_date=_between(rand, first, last),
                status=UsageRecord.Status.PENDING,
                source=source,
            )
        )


# --- Writing --------------------------------------------------------------------------------
@dataclass
class SeedSummary:
    accounts: int = 0
    subscriptions: int = 0
    charges: int = 0
    usage_records: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class SeedProgress:
    part: int
    parts: int
    accounts_done: int
    accounts_total: int
    seconds: float

    @property
    def accounts_per_second(self) -> float:
        return self.accounts_done / self.seconds if self.seconds else 0.0


def _write(part: _Part, *, using: str) -> None:
    # One transaction per part: a failed part gives its numbers back.
    accounts_bulk_create(
        accounts=part.accounts,
        subscriptions=part.subscriptions,
        charges=part.charges,
        usage=part.usage,
        using=using,
    )
    # With DEBUG on, Django keeps the SQL of the last 9,000 statements; a part's inserts are
    # megabytes of SQL, so the log alone would grow to gigabytes over a large seed.
    connections[using].queries_log.clear()


def seed_demo_accounts(
    *,
    count: int,
    seed: int,
    as_of: dt.date,
    part_size: int = DEFAULT_PART_SIZE,
    on_progress: Callable[[SeedProgress], None] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> SeedSummary:
    """Create `count` demo accounts with their subscriptions, charges and pending usage.

    The same `seed` and `as_of` give the same rows (numbers continue from the sequences, so
    they match too when the database starts empty). Appends to whatever is already there.
    """
    if count < 1:
        raise ValueError("count must be at least 1.")
    summary = SeedSummary()
    started = time.monotonic()
    parts = -(-count // part_size)
    source = f"seed_demo --seed {seed} --as-of {as_of.isoformat()}"
    for number, first in enumerate(range(0, count, part_size), start=1):
        part = _Part([], [], [], [])
        for index in range(first, min(first + part_size, count)):
            _add_account(part, index=index, seed=seed, as_of=as_of, source=source)
        _write(part, using=using)
        summary.accounts += len(part.accounts)
        summary.subscriptions += len(part.subscriptions)
        summary.charges += len(part.charges)
        summary.usage_records += len(part.usage)
        summary.seconds = time.monotonic() - started
        if on_progress:
            on_progress(SeedProgress(number, parts, summary.accounts, count, summary.seconds))
    return summary


def ensure_demo_logins(*, using: str = DEFAULT_DB_ALIAS) -> list[tuple[str, str]]:
    """Create or reset the demo logins; returns (username, group name) pairs.

    Idempotent: the password is set on every call so a changed demo password is restored.
    """
    User = get_user_model()
    for username, group_name in DEMO_LOGINS:
        group = Group.objects.using(using).get(name=group_name)  # made by billruns 0002_roles
        user, _ = User.objects.using(using).get_or_create(
            username=username, defaults={"email": f"{username}@billcycle.example"}
        )
        user.is_staff = True
        user.is_active = True
        user.set_password(DEMO_PASSWORD)
        user.save(using=using)
        user.groups.set([group])  # exactly the one role, whatever was changed by hand
    return list(DEMO_LOGINS)
