"""The seeding driver: accounts generated and written part by part, progress after each part,
and the demo logins."""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS, connections

from accounts.demo.account import Part, add_account
from accounts.services import accounts_bulk_create

DEFAULT_PART_SIZE = 2_000
DEMO_PASSWORD = "billcycle-demo"
DEMO_LOGINS = (("operator", "Billing Operator"), ("viewer", "Billing Viewer"))


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


def _write(part: Part, *, using: str) -> None:
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
        part = Part([], [], [], [])
        for index in range(first, min(first + part_size, count)):
            add_account(part, index=index, seed=seed, as_of=as_of, source=source)
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
