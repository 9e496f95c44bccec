"""The rating engine alone: lines rated per second for each charge model, no database.

Each case rates `--accounts` accounts of 5 charges (monthly unless said, started mid-month so
the first line of each charge is prorated) from 2024-01-15 to the target date 2026-11-01 with
`rate_account`, the bill run's own call, and prints lines per second and µs per line.
`--profile CASE` prints where that case's time goes. Written to docs/benchmarks.md ("Rating
engine") so that a change which slows the engine shows.
"""

import cProfile
import datetime as dt
import pstats
import sys
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from invoicing.rating.engine import AccountInput, BilledLine, ChargeInput, UsageInput, rate_account

START = dt.date(2024, 1, 15)
TARGET = dt.date(2026, 11, 1)
TIERS = [
    {"up_to": 10, "unit_price": "1.00", "flat_price": "5.00"},
    {"up_to": 100, "unit_price": "0.80", "flat_price": "0"},
    {"up_to": None, "unit_price": "0.50", "flat_price": "0"},
]
ALL_TYPES = ("OneTime", "Recurring", "Usage")


def _charge(index: int, **fields) -> ChargeInput:
    values = {
        "id": index,
        "number": f"C{index:08d}",
        "subscription_id": 1,
        "name": "Platform fee",
        "charge_type": "Recurring",
        "charge_model": "FlatFee",
        "price": Decimal("49.90"),
        "quantity": Decimal("3"),
        "tiers": None,
        "billing_period": "Month",
        "billing_timing": "InAdvance",
        "effective_start": START,
    }
    values.update(fields)
    return ChargeInput(**values)


def _usage(charge_id: int, first_id: int) -> list[UsageInput]:
    """One record every third day from the start to the target date."""
    days = (TARGET - START).days
    return [
        UsageInput(first_id + n, charge_id, Decimal("7.5"), START + dt.timedelta(days=3 * n))
        for n in range(days // 3)
    ]


def _credit_back(index: int) -> ChargeInput:
    """A monthly charge canceled on 2026-10-10 but billed through 2026-10-31: one credit."""
    return _charge(
        index,
        charged_through=dt.date(2026, 10, 31),
        canceled_on=dt.date(2026, 10, 10),
        billed_lines=(
            BilledLine(
                id=index,
                service_start=dt.date(2026, 10, 1),
                service_end=dt.date(2026, 10, 31),
                quantity=Decimal(1),
                unit_price=Decimal("49.90"),
                amount=Decimal("49.90"),
            ),
        ),
    )


CASES = {
    "recurring flat fee": lambda i: (_charge(i), ()),
    "recurring per unit": lambda i: (_charge(i, charge_model="PerUnit"), ()),
    "recurring tiered": lambda i: (_charge(i, charge_model="Tiered", tiers=TIERS), ()),
    "recurring volume": lambda i: (_charge(i, charge_model="Volume", tiers=TIERS), ()),
    "recurring weekly": lambda i: (_charge(i, billing_period="Week"), ()),
    "recurring annual": lambda i: (_charge(i, billing_period="Annual"), ()),
    "usage per unit": lambda i: (
        _charge(i, charge_type="Usage", charge_model="PerUnit", billing_timing="InArrears"),
        _usage(i, i * 1000),
    ),
    "usage tiered": lambda i: (
        _charge(
            i, charge_type="Usage", charge_model="Tiered", tiers=TIERS, billing_timing="InArrears"
        ),
        _usage(i, i * 1000),
    ),
    "one-time": lambda i: (_charge(i, charge_type="OneTime"), ()),
    "credit back": lambda i: (_credit_back(i), ()),
}


def accounts(case: str, count: int) -> list[AccountInput]:
    made = []
    for account in range(count):
        charges, usage = [], []
        for n in range(5):
            charge, records = CASES[case](account * 5 + n)
            charges.append(charge)
            usage.extend(records)
        made.append(AccountInput(account, "EUR", 1, tuple(charges), tuple(usage)))
    return made


def rate_all(inputs: list[AccountInput]) -> int:
    lines = 0
    for account in inputs:
        rating = rate_account(account, target_date=TARGET, charge_types=ALL_TYPES)
        lines += len(rating.document.lines) if rating.document else 0
    return lines


class Command(BaseCommand):
    help = "Lines rated per second by the rating engine for each charge model (no database)."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=2_000)
        parser.add_argument("--repeat", type=int, default=3, help="Best of this many.")
        parser.add_argument("--profile", choices=sorted(CASES), help="Profile one case.")

    def handle(self, *args, **options):
        if options["accounts"] < 1 or options["repeat"] < 1:
            raise CommandError("--accounts and --repeat must be at least 1.")
        if case := options["profile"]:
            inputs = accounts(case, options["accounts"])
            profile = cProfile.Profile()
            profile.runcall(rate_all, inputs)
            pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(20)
            return
        self.stdout.write(
            f"{options['accounts']:,} accounts × 5 charges, {START} to {TARGET}, best of "
            f"{options['repeat']}"
        )
        self.stdout.write(f"{'case':<20} {'lines':>9} {'lines/s':>10} {'µs/line':>8}")
        for case in CASES:
            inputs = accounts(case, options["accounts"])
            best = None
            for _ in range(options["repeat"]):
                started = time.perf_counter()
                lines = rate_all(inputs)
                seconds = time.perf_counter() - started
                best = seconds if best is None else min(best, seconds)
            self.stdout.write(
                f"{case:<20} {lines:>9,} {lines / best:>10,.0f} {best / lines * 1e6:>8.1f}"
            )
