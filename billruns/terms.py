"""A run's terms: what it bills (scope, dates, charge types) and what it does afterwards.

`RunTerms` is built once where a run is asked for — the new run form, a schedule's firing, a
retry, `manage.py create_bill_run` (and the API of DESIGN §10) — and passed whole to `services.create_bill_run`, which
validates it with `RunTerms.validate()`. Each refusal sentence has one owner: the constants and
functions below, used by the form, the model's validation and the service alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

from accounts.models import BATCHES, Account, Charge
from billruns.errors import BillRunError

if TYPE_CHECKING:
    from billruns.models import BillRun

ALL_CHARGE_TYPES = tuple(choice.value for choice in Charge.ChargeType)
# Zuora asks for confirmation beyond a year and refuses beyond ten.
MAX_YEARS_AHEAD = 10
# No billing date lies before 2000 (see date_window).
EARLIEST_DATE = dt.date(2000, 1, 1)
# What a run's name and idempotency key hold at most (their columns).
MAX_TEXT_LENGTH = 255

NO_TARGET_DATE = "A target date is required: charges are billed up to it."
NO_INVOICE_DATE = "An invoice date is required."
NO_CHARGE_TYPE = "Include at least one charge type."
BATCH_TWICE = "A batch is listed twice."
SINGLE_NEEDS_ACCOUNT = "A single-account run needs its account."
ONLY_SINGLE_NAMES_ACCOUNT = "Only a single-account run names an account."
SINGLE_TAKES_NO_GROUPS = "A single-account run takes no batches or bill cycle day."
DAY_RANGE = "A range of bill cycle days runs from the bill cycle day to 31."
EMPTY_SCOPE = "No active account matches this scope: there is nothing to bill."


def inactive_account(account: Account) -> str:
    return (
        f"Account {account.number} is {account.get_status_display()}: only Active accounts "
        "are billed."
    )


def date_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last date a run's invoice and target dates, a schedule's start and end,
    and the API's dates may be: 2000-01-01 to ten years from today (the 28th at most, so the
    bound exists in every year)."""
    return EARLIEST_DATE, today.replace(year=today.year + MAX_YEARS_AHEAD, day=min(today.day, 28))


def date_refusal(value: dt.date, *, today: dt.date) -> str | None:
    """Why `value` is outside date_window ("Use a date from … to …."), or None."""
    earliest, latest = date_window(today)
    if earliest <= value <= latest:
        return None
    return f"Use a date from {earliest} to {latest}."


class TargetType(models.TextChoices):
    SINGLE_ACCOUNT = "SingleAccount", "Single account"
    MULTIPLE_ACCOUNTS = "MultipleAccounts", "Multiple accounts"


class InvalidTerms(BillRunError):
    """Terms no run can have; the message is one of the sentences above."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunTerms:
    """Scope, dates, charge types and options of one run. `retry_of` narrows the scope to the
    failed accounts of that run; `bill_cycle_day_to` (a schedule's AsRunDay on a month's last
    day) widens the bill cycle day to a range."""

    invoice_date: dt.date | None = None
    target_date: dt.date | None = None
    target_type: str = TargetType.MULTIPLE_ACCOUNTS
    account: Account | None = None
    batches: tuple[str, ...] = ()
    bill_cycle_day: int | None = None
    bill_cycle_day_to: int | None = None
    retry_of: BillRun | None = None
    charge_types: tuple[str, ...] = ALL_CHARGE_TYPES
    auto_post: bool = False
    auto_email: bool = False
    no_email_for_zero_amount: bool = False
    name: str = ""

    def __post_init__(self):
        # Lists are welcome (forms, JSON); the value keeps tuples so it cannot change.
        object.__setattr__(self, "batches", tuple(self.batches or ()))
        object.__setattr__(self, "charge_types", tuple(self.charge_types or ()))

    @classmethod
    def of_run(cls, run: BillRun) -> RunTerms:
        return cls(**{field.name: getattr(run, field.name) for field in dataclasses.fields(cls)})

    @property
    def single(self) -> bool:
        return self.target_type == TargetType.SINGLE_ACCOUNT

    @property
    def scope_label(self) -> str:
        """What a run with these terms bills, as the list and detail pages say it."""
        if self.single:
            return f"Account {self.account.number}" if self.account else "One account"
        if self.retry_of is not None:
            return f"Failed accounts of {self.retry_of.number}"
        batches = ", ".join(self.batches) if self.batches else "All batches"
        day, last_day = self.bill_cycle_day, self.bill_cycle_day_to
        if day is None:
            return f"{batches} · all bill cycle days"
        if last_day and last_day != day:
            return f"{batches} · bill cycle days {day}–{last_day}"
        return f"{batches} · bill cycle day {day}"

    def validate(self, *, today: dt.date | None = None) -> None:
        """Raise InvalidTerms with the first thing wrong, as one sentence. `today` (default:
        the server's) places the window of dates a run may have (date_window)."""
        if self.target_date is None:
            raise InvalidTerms(NO_TARGET_DATE)
        if self.invoice_date is None:
            raise InvalidTerms(NO_INVOICE_DATE)
        today = today or timezone.localdate()
        _check_date(self.invoice_date, "invoice date", today)
        if self.target_date.year > self.invoice_date.year + MAX_YEARS_AHEAD:
            raise InvalidTerms(
                f"The target date {self.target_date} is more than {MAX_YEARS_AHEAD} years ahead."
            )
        _check_date(self.target_date, "target date", today)
        check_text(self.name, what="The name")
        check_charge_types(self.charge_types)
        if self.single:
            if self.account is None:
                raise InvalidTerms(SINGLE_NEEDS_ACCOUNT)
            if not self.account.is_billable:
                raise InvalidTerms(inactive_account(self.account))
            if self.batches or self.bill_cycle_day is not None:
                raise InvalidTerms(SINGLE_TAKES_NO_GROUPS)
        elif self.target_type == TargetType.MULTIPLE_ACCOUNTS:
            if self.account is not None:
                raise InvalidTerms(ONLY_SINGLE_NAMES_ACCOUNT)
        else:
            raise InvalidTerms(f"Unknown target type {self.target_type!r}.")
        check_batches(self.batches)
        if self.bill_cycle_day is not None and not 1 <= self.bill_cycle_day <= 31:
            raise InvalidTerms(f"The bill cycle day {self.bill_cycle_day} is not between 1 and 31.")
        if self.bill_cycle_day_to is not None and (
            self.bill_cycle_day is None or not self.bill_cycle_day <= self.bill_cycle_day_to <= 31
        ):
            raise InvalidTerms(DAY_RANGE)

    def model_fields(self) -> dict:
        """The BillRun fields these terms fill, charge types in their canonical order."""
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        fields["batches"] = list(self.batches)
        fields["charge_types"] = [t for t in ALL_CHARGE_TYPES if t in self.charge_types]
        return fields


def _check_date(value: dt.date, what: str, today: dt.date) -> None:
    if refusal := date_refusal(value, today=today):
        raise InvalidTerms(f"The {what} {value} is outside the dates a run may have. {refusal}")


def check_text(value: str, *, what: str) -> None:
    """A run's name or idempotency key fits its column, and PostgreSQL can store it."""
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidTerms(f"{what} is longer than {MAX_TEXT_LENGTH} characters.")
    if "\x00" in value:
        raise InvalidTerms(f"{what} holds a NUL character.")


def check_batches(batches) -> None:
    bad = [b for b in batches if b not in BATCHES]
    if bad:
        raise InvalidTerms(f"Unknown batch {bad[0]!r}: use Batch1 … Batch50.")
    if len(set(batches)) != len(batches):
        raise InvalidTerms(BATCH_TWICE)


def check_charge_types(charge_types, *, may_be_empty: bool = False) -> None:
    if not charge_types and not may_be_empty:
        raise InvalidTerms(NO_CHARGE_TYPE)
    unknown = [t for t in charge_types if t not in ALL_CHARGE_TYPES]
    if unknown:
        raise InvalidTerms(f"Unknown charge type {unknown[0]!r}: use OneTime, Recurring or Usage.")
