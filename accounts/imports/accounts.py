"""The account import: new accounts with their subscriptions and charges.

One row per charge, carrying its account and subscription; rows are grouped by the account key
(account_number when given, else account_ref) and, within an account, by subscription_ref. The
file is validated whole before anything is written (an account's rows may be anywhere in the
file), keeping only the cleaned values. The import creates accounts and never updates one: an
account that already exists is an error on its first row, found by its account_number when
given (the external reference), else by its name, bill-to email and currency (so importing the
same file twice creates nothing the second time). A bad row takes its whole account with it,
since an account arrives whole or not at all.
"""

import re
from dataclasses import dataclass, field
from typing import TextIO

from django.db import DEFAULT_DB_ALIAS, transaction

from accounts.imports.reading import (
    ACCOUNTS_LINKED,
    MISSING,
    Column,
    ImportFileError,
    ImportResult,
    extra_values,
    read_csv,
    refusals_as_file_errors,
)
from accounts.imports.values import (
    DECIMAL_PLACES,
    clean_account,
    clean_charge,
    clean_subscription,
)
from accounts.models import Account, Charge, Subscription
from accounts.services import accounts_bulk_create
from accounts.usage import LOOKUP_CHUNK
from core import numbering
from core.iterables import batched
from core.models import NumberSequence
from core.numbering import NUMBER_WIDTH

ACCOUNTS = "accounts"
ACCOUNTS_PER_WRITE = 1_000  # accounts (with their subscriptions and charges) per bulk write

ACCOUNT_COLUMNS = (
    Column(
        "account_number",
        "no",
        "Up to 20 characters; must not exist yet. Blank: assigned automatically (A00000001…).",
        "",
    ),
    Column(
        "account_ref",
        "when account_number is blank",
        "Any text: the rows of one new account share it. Ignored when account_number is given.",
        "acme",
    ),
    Column("account_name", "yes", "Up to 255 characters.", "Acme Corp"),
    Column("currency", "yes", "ISO 4217 code.", "USD"),
    Column("bill_cycle_day", "yes", "A whole number from 1 to 31.", "1"),
    Column("batch", "no", "Batch1 … Batch50; blank: Batch1.", "Batch1"),
    Column("bill_to_name", "no", "Up to 255 characters.", "Jane Doe"),
    Column("bill_to_email", "no", "An email address.", "billing@acme.example"),
    Column("payment_term_days", "no", "Whole days from invoice to due date; blank: 30.", "30"),
    Column(
        "subscription_ref",
        "yes",
        "Any text: the rows of one subscription of the account share it.",
        "main",
    ),
    Column("term_start", "yes", "YYYY-MM-DD.", "2026-01-01"),
    Column("term_end", "no", "YYYY-MM-DD; blank: evergreen.", ""),
    Column("charge_name", "yes", "Up to 255 characters.", "Platform fee"),
    Column("charge_type", "yes", "OneTime, Recurring or Usage.", "Recurring"),
    Column("charge_model", "yes", "FlatFee, PerUnit, Tiered or Volume.", "FlatFee"),
    Column(
        "price",
        "for FlatFee and PerUnit",
        f"A number with a dot, up to {DECIMAL_PLACES} decimals; negative for a credit. "
        "Blank for Tiered and Volume.",
        "100.00",
    ),
    Column("quantity", "no", "A number with a dot; blank: 1.", "1"),
    Column(
        "billing_period",
        "for Recurring and Usage",
        "Week, Month, Quarter, SemiAnnual or Annual.",
        "Month",
    ),
    Column(
        "billing_timing",
        "no",
        "InAdvance or InArrears; blank: InAdvance (InArrears for Usage, always).",
        "InAdvance",
    ),
    Column("effective_start", "yes", "YYYY-MM-DD.", "2026-01-01"),
    Column("effective_end", "no", "YYYY-MM-DD, the last day billed; blank: open.", ""),
    Column("uom", "no", "Unit of measure, up to 40 characters.", ""),
    Column(
        "tiers",
        "for Tiered and Volume",
        'JSON: [{"up_to": 100, "unit_price": "0.10", "flat_price": "0"}, …, '
        '{"up_to": null, "unit_price": "0.08"}]. Blank otherwise.',
        "",
    ),
)

# Columns that must read the same on every row of one account, or of one subscription.
ACCOUNT_COLUMNS_SHARED = (
    "account_name",
    "currency",
    "bill_cycle_day",
    "batch",
    "bill_to_name",
    "bill_to_email",
    "payment_term_days",
)
SUBSCRIPTION_COLUMNS_SHARED = ("term_start", "term_end")

_AUTOMATIC_ACCOUNT_NUMBER = re.compile(
    rf"{re.escape(Account.NUMBER_PREFIX)}(\d{{{NUMBER_WIDTH},}})"
)


@dataclass
class _SubscriptionPlan:
    first_row: int
    shared: tuple[str, ...]  # the subscription's columns as given on its first row
    values: dict | None  # cleaned field values; None when its first row had errors
    charges: list[dict] = field(default_factory=list)  # cleaned values of its valid rows


@dataclass
class _AccountPlan:
    first_row: int
    number: str  # blank: assigned when written
    shared: tuple[str, ...]  # the account's columns as given on its first row
    values: dict | None
    rows: list[int] = field(default_factory=list)
    subscriptions: dict[str, _SubscriptionPlan] = field(default_factory=dict)


def import_accounts(
    stream: TextIO,
    *,
    file_name: str,
    write_valid: bool = False,
    using: str = DEFAULT_DB_ALIAS,
) -> ImportResult:
    """Create accounts with their subscriptions and charges from a CSV text stream.

    The rules are this module's docstring, with those both imports share in the package's and
    in `reading`'s. Raises ImportFileError when the file as a whole cannot be read (nothing is
    written then).
    """
    positions, rows = read_csv(stream, ACCOUNTS, ACCOUNT_COLUMNS)
    if "account_number" not in positions and "account_ref" not in positions:
        raise ImportFileError(
            "The header needs the column account_number or account_ref (or both): "
            "they say which rows belong to one account."
        )
    width = len(positions)
    result = ImportResult(kind=ACCOUNTS, file_name=file_name, write_valid=write_valid)
    plans: dict[tuple[str, str], _AccountPlan] = {}
    row_errors: dict[int, list[tuple[str, str]]] = {}

    for row, values in rows:
        result.rows_read += 1

        def get(column: str, values=values) -> str:
            position = positions.get(column)
            return values[position].strip() if position is not None else ""

        errors: list[tuple[str, str]] = []
        extra = extra_values(values, width)
        if extra:
            errors.append(("", extra))
        number, ref = get("account_number"), get("account_ref")
        plan = None
        if number or ref:
            # Even a row too bad to read belongs to its account, and takes it down with it.
            key = ("account_number", number) if number else ("account_ref", ref)
            shared = tuple(get(column) for column in ACCOUNT_COLUMNS_SHARED)
            plan = plans.get(key)
            if plan is None:
                account_values, account_errors = clean_account(get, number)
                errors += account_errors
                plan = plans[key] = _AccountPlan(
                    first_row=row,
                    number=number,
                    shared=shared,
                    values=None if account_errors else account_values,
                )
            elif not extra:
                errors += _differences(
                    ACCOUNT_COLUMNS_SHARED, plan.shared, shared, plan.first_row, "account"
                )
            plan.rows.append(row)
        else:
            errors.append(
                ("account_ref", "give account_number, or account_ref to group a new account's rows")
            )
        if extra:
            row_errors[row] = errors
            continue  # its values may not be under the columns they were meant for

        subscription_ref = get("subscription_ref")
        subscription = None
        if not subscription_ref:
            errors.append(("subscription_ref", MISSING))
        elif plan is None:
            errors += clean_subscription(get)[1]
        else:
            shared = tuple(get(column) for column in SUBSCRIPTION_COLUMNS_SHARED)
            subscription = plan.subscriptions.get(subscription_ref)
            if subscription is None:
                subscription_values, subscription_errors = clean_subscription(get)
                errors += subscription_errors
                subscription = plan.subscriptions[subscription_ref] = _SubscriptionPlan(
                    first_row=row,
                    shared=shared,
                    values=None if subscription_errors else subscription_values,
                )
            else:
                errors += _differences(
                    SUBSCRIPTION_COLUMNS_SHARED,
                    subscription.shared,
                    shared,
                    subscription.first_row,
                    "subscription",
                )
        charge_values, charge_errors = clean_charge(get)
        errors += charge_errors
        if errors:
            row_errors[row] = errors
        elif subscription is not None:
            subscription.charges.append(charge_values)

    _check_numbers(plans, row_errors, using=using)
    _check_existing_accounts(plans, row_errors, using=using)
    valid_plans = _whole_accounts(plans, row_errors)
    for row in sorted(row_errors):
        result.add_row_errors(row, row_errors[row])
    result.rows_valid = sum(len(plan.rows) for plan in valid_plans)

    result.created = {"accounts": 0, "subscriptions": 0, "charges": 0}
    if valid_plans and (write_valid or not result.error_count):
        # Refused when someone created one of the given numbers between the check and the write.
        with refusals_as_file_errors(), transaction.atomic(using=using):
            _refuse_accounts_created_meanwhile(valid_plans, using=using)
            for batch in batched(valid_plans, ACCOUNTS_PER_WRITE):
                _write_accounts(batch, result, using)
        result.rows_written = result.rows_valid
    return result


def _differences(columns, first, this, first_row: int, what: str) -> list[tuple[str, str]]:
    return [
        (
            column,
            f"{this_value!r} differs from {first_value!r} on row {first_row}, the {what}'s "
            f"first row: the {what}'s columns must be the same on each of its rows",
        )
        for column, first_value, this_value in zip(columns, first, this, strict=True)
        if first_value != this_value
    ]


def _check_numbers(plans, row_errors, *, using: str) -> None:
    """Given account numbers must be new, and must not be ones the sequence will hand out."""
    numbered = {plan.number: plan for plan in plans.values() if plan.number}
    existing: set[str] = set()
    for chunk in batched(list(numbered), LOOKUP_CHUNK):
        existing.update(
            Account.objects.using(using).filter(number__in=chunk).values_list("number", flat=True)
        )
    last = (
        NumberSequence.objects.using(using)
        .filter(prefix=Account.NUMBER_PREFIX)
        .values_list("last_value", flat=True)
        .first()
        or 0
    )
    for number, plan in numbered.items():
        if number in existing:
            message = (
                f"account {number} already exists: the import creates accounts and does not "
                "change existing ones"
            )
        elif (match := _AUTOMATIC_ACCOUNT_NUMBER.fullmatch(number)) and int(match[1]) > last:
            message = (
                f"{number} looks like an automatic number not handed out yet, so a later "
                "automatic number would collide with it: leave account_number blank "
                "(and use account_ref) or use another pattern"
            )
        else:
            continue
        row_errors.setdefault(plan.first_row, []).append(("account_number", message))


def _check_existing_accounts(plans, row_errors, *, using: str) -> None:
    """An account given without a number is new unless an account with its name, bill-to email
    (in any case) and currency exists: importing the same file twice must not make each account
    twice. An account given with its number is matched by the number (_check_numbers)."""
    keyed = [
        ((v["name"], v["bill_to_email"].casefold(), v["currency"]), plan)
        for plan in plans.values()
        if not plan.number and (v := plan.values) is not None
    ]
    existing: dict[tuple[str, str, str], str] = {}
    for chunk in batched(sorted({key[0] for key, _ in keyed}), LOOKUP_CHUNK):
        rows = (
            Account.objects.using(using)
            .filter(name__in=chunk)
            .order_by("number")
            .values_list("name", "bill_to_email", "currency", "number")
        )
        for name, email, currency, number in rows:
            existing.setdefault((name, email.casefold(), currency), number)
    for key, plan in keyed:
        number = existing.get(key)
        if number is None:
            continue
        email = plan.values["bill_to_email"]
        with_email = f"bill-to email {email}" if email else "no bill-to email"
        row_errors.setdefault(plan.first_row, []).append((
            "account_name",
            f"account {number} already exists with this name, {with_email} and currency "
            f"{key[2]}: the import creates accounts and does not change existing ones (give an "
            "account_number to import another account of the same name)",
        ))  # fmt: skip


def _refuse_accounts_created_meanwhile(plans: list[_AccountPlan], *, using: str) -> None:
    """Check the accounts without a number again, in the writing transaction and after taking
    the account numbers' sequence row (which the write takes anyway): two imports of one file
    at once (a double click, two operators) then write one after the other, and the second
    finds the first one's accounts instead of creating them twice. Given numbers need this not:
    their unique constraint refuses the second write."""
    numbering.lock(Account.NUMBER_PREFIX, using=using)
    created: dict[int, list[tuple[str, str]]] = {}
    _check_existing_accounts(dict(enumerate(plans)), created, using=using)
    if created:
        first = min(created)
        raise ImportFileError(
            f"Another import created {len(created):,} of the file's accounts while it was "
            f"checked (the first on row {first}): nothing imported. Import the file again to "
            "see which accounts exist now."
        )


def _whole_accounts(plans, row_errors) -> list[_AccountPlan]:
    """The accounts all of whose rows are valid; the other rows of a bad account are told why."""
    valid = []
    for plan in plans.values():
        bad = [row for row in plan.rows if row in row_errors]
        if not bad:
            valid.append(plan)
            continue
        shown = ", ".join(map(str, bad[:3])) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        for row in plan.rows:
            if row not in row_errors:
                rows = f"row{'s' if len(bad) > 1 else ''} {shown}"
                row_errors[row] = [
                    (
                        "",
                        f"not imported: its account has errors on {rows}, and an account "
                        "is imported whole or not at all",
                    )
                ]
    return valid


def _write_accounts(plans: list[_AccountPlan], result: ImportResult, using: str) -> None:
    accounts, subscriptions, charges = [], [], []
    for plan in plans:
        account = Account(**plan.values)
        accounts.append(account)
        for subscription_plan in plan.subscriptions.values():
            subscription = Subscription(account=account, **subscription_plan.values)
            subscriptions.append(subscription)
            charges += [
                Charge(subscription=subscription, account=account, **values)
                for values in subscription_plan.charges
            ]
    accounts_bulk_create(
        accounts=accounts, subscriptions=subscriptions, charges=charges, using=using
    )
    result.created["accounts"] += len(accounts)
    room = ACCOUNTS_LINKED - len(result.account_numbers)
    result.account_numbers += [account.number for account in accounts[:room]]
    result.more_accounts = result.more_accounts or len(accounts) > room
    result.created["subscriptions"] += len(subscriptions)
    result.created["charges"] += len(charges)
