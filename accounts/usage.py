"""Usage from outside: the checks the CSV import and the API share, and the API's batch write.

A record names its account and charge by number; both are read with `IN` lookups once per
number. A record is refused when its account or charge is unknown, the charge is another
account's or not a Usage charge, or its date lies outside the charge's service (before its
start or after its end: no bill run would ever bill it).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from accounts.models import Account, Charge, UsageRecord
from core.bulk import BulkWriter
from core.iterables import batched

LOOKUP_CHUNK = 500  # numbers per IN lookup (SQLite allows 999 parameters per statement)
PENDING = UsageRecord.Status.PENDING.value


@dataclass(frozen=True, slots=True)
class ChargeRef:
    id: int
    account_id: int
    account_number: str
    charge_type: str
    effective_start: dt.date
    effective_end: dt.date | None


class UsageReferences:
    """Account and charge numbers resolved with IN lookups, once per number."""

    def __init__(self, using: str = DEFAULT_DB_ALIAS):
        self.using = using
        self.accounts: dict[str, int | None] = {}
        self.charges: dict[str, ChargeRef | None] = {}

    def load(self, account_numbers: set[str], charge_numbers: set[str]) -> None:
        """Charges first: each names its account's number and id, so the accounts are looked
        up only for numbers no loaded charge belongs to (none, when every record names its
        charge's own account)."""
        new_charges = [n for n in charge_numbers if n not in self.charges]
        for chunk in batched(new_charges, LOOKUP_CHUNK):
            self.charges.update(dict.fromkeys(chunk))
            rows = (
                Charge.objects.using(self.using)
                .filter(number__in=chunk)
                .values_list(
                    "number",
                    "id",
                    "account_id",
                    "account__number",
                    "charge_type",
                    "effective_start",
                    "effective_end",
                )  # fmt: skip
            )
            for number, *ref in rows:
                charge = self.charges[number] = ChargeRef(*ref)
                self.accounts.setdefault(charge.account_number, charge.account_id)
        new_accounts = [n for n in account_numbers if n not in self.accounts]
        for chunk in batched(new_accounts, LOOKUP_CHUNK):
            self.accounts.update(dict.fromkeys(chunk))
            self.accounts.update(
                Account.objects.using(self.using)
                .filter(number__in=chunk)
                .values_list("number", "id")
            )

    def refusals(
        self, account_number: str, charge_number: str, usage_date: dt.date | None
    ) -> tuple[int | None, ChargeRef | None, list[tuple[str, str]]]:
        """The record's account id and charge, and what is wrong with them as (field, reason)
        pairs; the numbers must have been loaded. `usage_date` None: not known to be a date."""
        errors: list[tuple[str, str]] = []
        account_id = self.accounts.get(account_number)
        if account_id is None:
            errors.append(("account_number", f"unknown account {account_number}"))
        charge = self.charges.get(charge_number)
        if charge is None:
            errors.append(("charge_number", f"unknown charge {charge_number}"))
        elif account_id is not None and charge.account_id != account_id:
            errors.append((
                "charge_number",
                f"charge {charge_number} is not of account {account_number} "
                f"(it belongs to {charge.account_number})",
            ))  # fmt: skip
        elif charge.charge_type != Charge.ChargeType.USAGE:
            errors.append((
                "charge_number",
                f"wrong charge type: {charge_number} is a {Charge.ChargeType(charge.charge_type).label} charge; "
                "usage goes on Usage charges",
            ))  # fmt: skip
        elif usage_date is not None and usage_date < charge.effective_start:
            errors.append((
                "usage_date",
                f"{usage_date} is before charge {charge_number} starts on "
                f"{charge.effective_start}",
            ))  # fmt: skip
        elif usage_date is not None and charge.effective_end and usage_date > charge.effective_end:
            errors.append((
                "usage_date",
                f"{usage_date} is after charge {charge_number} ended on {charge.effective_end}",
            ))  # fmt: skip
        return account_id, charge, errors


@dataclass(frozen=True, slots=True)
class NewUsage:
    """A checked record: its key, account, charge, quantity and day."""

    unique_key: str
    account_id: int
    charge_id: int
    quantity: Decimal
    usage_date: dt.date


INSERTED_COLUMNS = (
    "unique_key", "account_id", "charge_id", "quantity", "usage_date", "status", "line_id",
    "source", "created_at",
)  # fmt: skip
INSERTED_TYPES = (
    "text", "bigint", "bigint", "numeric", "date", "text", "bigint", "text", "timestamptz",
)  # fmt: skip


def usage_keys_stored(keys: set[str]) -> set[str]:
    """Which of these unique keys are already taken (one IN lookup per 500 keys)."""
    taken: set[str] = set()
    for chunk in batched(sorted(keys), LOOKUP_CHUNK):
        taken.update(
            UsageRecord.objects.filter(unique_key__in=chunk).values_list("unique_key", flat=True)
        )
    return taken


def usage_records_store(*, records: Sequence[NewUsage], source: str) -> set[str]:
    """Store the records whose key is new, in one transaction; return the keys stored. A key
    already taken (by an earlier request, or a concurrent one that commits first) is skipped by
    the unique index. Rows go in key order, so two requests sharing keys wait for each other
    rather than deadlock."""
    if not records:
        return set()
    writer = BulkWriter(connections[DEFAULT_DB_ALIAS])
    created_at = writer.prepare_value(timezone.now())
    rows = [
        (r.unique_key, r.account_id, r.charge_id, r.quantity, r.usage_date, PENDING, None,
         source, created_at)
        for r in sorted(records, key=lambda record: record.unique_key)
    ]  # fmt: skip
    with transaction.atomic():
        return set(
            writer.insert_new(
                UsageRecord,
                INSERTED_COLUMNS,
                rows,
                types=INSERTED_TYPES,
                unique="unique_key",
                returning="unique_key",
            )
        )
