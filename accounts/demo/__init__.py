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

The modules: `draws` (weighted choices, random dates, month arithmetic), `catalog` (currencies,
names, plans, usage products and the weights that shape an account), `account` (one account's
rows from its own random stream), `changes` (price and quantity changes, as `change_charge`
writes them) and `seeding` (parts, writes, progress, the demo logins).
"""

from accounts.demo.seeding import (
    DEFAULT_PART_SIZE,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    SeedProgress,
    SeedSummary,
    ensure_demo_logins,
    seed_demo_accounts,
)

__all__ = [
    "DEFAULT_PART_SIZE",
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "SeedProgress",
    "SeedSummary",
    "ensure_demo_logins",
    "seed_demo_accounts",
]
