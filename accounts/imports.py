"""CSV import of accounts (with their subscriptions and charges) and of usage records.

Used by the import page and by `manage.py import_accounts` / `import_usage`. Both read a text
stream (UTF-8, comma-separated, header on the first row) with the csv module, one row at a time.

Rules shared by both kinds:
- Row numbers are what a spreadsheet shows: the header is row 1, the first data row is row 2.
  A quoted value spanning lines is still one row; blank rows count but are skipped.
- Header names are matched without surrounding spaces and case. A missing required column, an
  unknown or a repeated column makes the whole file unreadable (ImportFileError, one line).
- Each error names its row, its column ("" for the row as a whole) and the reason.
- Default mode is all or nothing: one bad row and nothing is written. With `write_valid=True`
  exactly the good rows are written. Either way the writes are one transaction, so an import is
  never half-written, even when the file turns out unreadable half way through.

Usage: columns account_number, charge_number, quantity, usage_date. Validated row by row and
written in batches of BATCH_SIZE inside the one transaction; references are read per batch with
`IN` lookups and cached. Memory holds one batch, the numbers met so far, and one int per valid
row for the duplicate check (about 120 bytes a row: ~120 MB for a million rows), never model
objects. In all-or-nothing mode the first bad row rolls the transaction back at once (releasing
SQLite's write lock) and the rest of the file is only validated. Each record is Pending, its
`source` "<file name>:<row>".

Accounts: one row per charge, carrying its account and subscription; rows are grouped by the
account key (account_number when given, else account_ref) and, within an account, by
subscription_ref. The file is validated whole before anything is written (an account's rows may
be anywhere in the file), keeping only the cleaned values. The import creates accounts and never
updates one: an existing account number is an error. A bad row takes its whole account with it,
since an account arrives whole or not at all.
"""

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import PurePath
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db import models as db_models
from django.utils import timezone

from accounts.models import BATCHES, PRICE, Account, Charge, Subscription, UsageRecord
from accounts.services import accounts_bulk_create
from core.iterables import batched
from core.models import NumberSequence
from core.numbering import NUMBER_WIDTH

USAGE = "usage"
ACCOUNTS = "accounts"
KINDS = (ACCOUNTS, USAGE)

BATCH_SIZE = 5_000  # usage rows validated and inserted together
ACCOUNTS_PER_WRITE = 1_000  # accounts (with their subscriptions and charges) per bulk write
MAX_ERRORS_KEPT = 1_000  # errors listed in a result; beyond it they are only counted
LOOKUP_CHUNK = 500  # numbers per IN lookup (SQLite allows 999 parameters per statement)
SOURCE_MAX_LENGTH = UsageRecord._meta.get_field("source").max_length
# A row number of up to 12 digits and its colon always fit after the file name.
SOURCE_NAME_MAX_LENGTH = SOURCE_MAX_LENGTH - 13
MISSING = "missing value"

_INTEGER_DIGITS = PRICE["max_digits"] - PRICE["decimal_places"]
_DECIMAL_PLACES = PRICE["decimal_places"]
_SMALLEST_STEP = Decimal(1).scaleb(-_DECIMAL_PLACES)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message is one readable line."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str  # "" when the row as a whole is wrong
    message: str

    def __str__(self) -> str:
        if self.column:
            return f"row {self.row}, column {self.column}: {self.message}"
        return f"row {self.row}: {self.message}"


@dataclass
class ImportResult:
    kind: str
    file_name: str
    write_valid: bool = False
    rows_read: int = 0  # data rows, blank rows not counted
    rows_valid: int = 0  # rows that passed validation (for accounts: whose account did)
    rows_written: int = 0
    bad_rows: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    created: dict[str, int] = field(default_factory=dict)  # e.g. {"accounts": 3, …}

    @property
    def written(self) -> bool:
        return self.rows_written > 0

    def add_row_errors(self, row: int, errors: Iterable[tuple[str, str]]) -> None:
        """Record one bad row's errors (call once per row)."""
        self.bad_rows += 1
        for column, message in errors:
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append(RowError(row, column, message))

    def created_text(self) -> str:
        """'3 accounts, 4 subscriptions and 7 charges' or '1,000 usage records'."""
        parts = [
            f"{count:,} {noun if count != 1 else noun[:-1]}" for noun, count in self.created.items()
        ]
        if len(parts) < 2:
            return parts[0] if parts else "nothing"
        return ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass(frozen=True)
class Column:
    name: str
    required: str  # "yes", "no", or when it is required
    format: str
    example: str


USAGE_COLUMNS = (
    Column("account_number", "yes", "An existing account's number.", "A00000001"),
    Column("charge_number", "yes", "A Usage charge of that account.", "C00000003"),
    Column(
        "quantity",
        "yes",
        f"A number of 0 or more, up to {_DECIMAL_PLACES} decimals, with a dot.",
        "12.5",
    ),
    Column("usage_date", "yes", "YYYY-MM-DD.", "2026-01-15"),
)

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
        f"A number with a dot, up to {_DECIMAL_PLACES} decimals; negative for a credit. "
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

COLUMNS = {ACCOUNTS: ACCOUNT_COLUMNS, USAGE: USAGE_COLUMNS}
_REQUIRED_HEADER = {
    USAGE: {c.name for c in USAGE_COLUMNS},
    ACCOUNTS: {c.name for c in ACCOUNT_COLUMNS if c.required == "yes"},
}


def template_csv(kind: str) -> str:
    """The header line and one example row of a kind's file."""
    columns = COLUMNS[kind]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    writer.writerow([c.example for c in columns])
    return text.getvalue()


# --- Reading --------------------------------------------------------------------------------
def _read_csv(stream: TextIO, kind: str) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """The header's column positions, and the data rows as (row number, values).

    Blank rows are skipped (their numbers still count); short rows are padded with blanks.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(
            "The file is empty: its first row must be the header "
            f"({', '.join(c.name for c in COLUMNS[kind])})."
        ) from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise _unreadable(error, row=1) from None
    names = [name.strip().lstrip("\ufeff").strip().lower() for name in header]
    while names and not names[-1]:
        names.pop()  # trailing empty cells, as some spreadsheets export them
    positions: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in positions:
            raise ImportFileError(f"The header names the column {name!r} twice.")
        positions[name] = position
    known = {c.name for c in COLUMNS[kind]}
    unknown = [name for name in names if name not in known]
    if unknown:
        shown = ", ".join(repr(name) if name else "(blank)" for name in unknown)
        raise ImportFileError(
            f"Unknown column{'s' if len(unknown) > 1 else ''} in the header: {shown}. "
            f"The {kind} file has the columns {', '.join(c.name for c in COLUMNS[kind])}."
        )
    missing = [c.name for c in COLUMNS[kind] if c.name in _REQUIRED_HEADER[kind]]
    missing = [name for name in missing if name not in positions]
    if missing:
        raise ImportFileError(
            f"The header lacks the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}."
        )
    return positions, _rows(reader, width=len(names))


def _rows(reader, *, width: int) -> Iterator[tuple[int, list[str]]]:
    row = 1
    try:
        for values in reader:
            row += 1
            if not "".join(values).strip():
                continue
            if len(values) < width:
                values += [""] * (width - len(values))
            yield row, values
    except (csv.Error, UnicodeDecodeError) as error:
        raise _unreadable(error, row=row + 1) from None


def _unreadable(error: Exception, *, row: int) -> ImportFileError:
    if isinstance(error, UnicodeDecodeError):
        return ImportFileError(
            f"The file is not UTF-8 text (a byte that is not UTF-8 near row {row}): "
            "save it as CSV UTF-8."
        )
    return ImportFileError(f"Row {row} cannot be read as CSV: {error}.")


def _extra_values(values: list[str], width: int) -> str | None:
    if len(values) > width and any(value.strip() for value in values[width:]):
        return f"has {len(values)} values but the header has {width} columns"
    return None


# --- Values ---------------------------------------------------------------------------------
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


@lru_cache(maxsize=4096)
def _parse_date(text: str) -> dt.date | str:
    """A date as YYYY-MM-DD, or the reason it is not one."""
    if _DATE_SHAPE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    return f"{text!r} is not a date as YYYY-MM-DD"


def _parse_decimal(text: str, *, negative: bool) -> Decimal | str:
    """A Decimal that fits the PRICE columns, or the reason it does not."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return f"{text!r} is not a number (write it with a dot, like 12.5)"
    if not value.is_finite():
        return f"{text!r} is not a number (write it with a dot, like 12.5)"
    if value < 0 and not negative:
        return f"{text} is negative; it must be 0 or more"
    if value and value.adjusted() >= _INTEGER_DIGITS:
        return f"{text} is too large: at most {_INTEGER_DIGITS} digits before the decimal point"
    if value.as_tuple().exponent < -_DECIMAL_PLACES:
        exact = value.quantize(_SMALLEST_STEP)
        if exact != value:
            return f"{text} has more than {_DECIMAL_PLACES} decimals"
        value = exact  # 1.50000000 is 1.500000
    return value


def _parse_whole_number(text: str, *, low: int, high: int) -> int | str:
    try:
        value = int(text)
    except ValueError:
        return f"{text!r} is not a whole number"
    if not low <= value <= high:
        return f"{value} is not between {low} and {high}"
    return value


def _choice(text: str, choices: type[db_models.TextChoices], what: str) -> str | None:
    """None when `text` is a stored value of `choices`, else the reason."""
    if text in choices.values:
        return None
    values = list(choices.values)
    return f"{text!r} is not {what}: use {', '.join(values[:-1])} or {values[-1]}"


def _source_name(file_name: str) -> str:
    """The file's own name (no folders), shortened in the middle to fit `source`."""
    name = PurePath(file_name.replace("\\", "/")).name or "upload.csv"
    if len(name) <= SOURCE_NAME_MAX_LENGTH:
        return name
    keep = SOURCE_NAME_MAX_LENGTH - 1
    return name[: keep - 20] + "…" + name[-20:]


def _constraint_message(model, name: str) -> str:
    (constraint,) = [c for c in model._meta.constraints if c.name == name]
    return str(constraint.violation_error_message).rstrip(".")


# --- Usage ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _ChargeRef:
    id: int
    account_id: int
    account_number: str
    charge_type: str


class _UsageReferences:
    """Account and charge numbers resolved with IN lookups, once per number for the import."""

    def __init__(self, using: str):
        self.using = using
        self.accounts: dict[str, int | None] = {}
        self.charges: dict[str, _ChargeRef | None] = {}

    def load(self, account_numbers: set[str], charge_numbers: set[str]) -> None:
        new_accounts = [n for n in account_numbers if n not in self.accounts]
        for chunk in batched(new_accounts, LOOKUP_CHUNK):
            self.accounts.update(dict.fromkeys(chunk))
            self.accounts.update(
                Account.objects.using(self.using)
                .filter(number__in=chunk)
                .values_list("number", "id")
            )
        new_charges = [n for n in charge_numbers if n not in self.charges]
        for chunk in batched(new_charges, LOOKUP_CHUNK):
            self.charges.update(dict.fromkeys(chunk))
            rows = (
                Charge.objects.using(self.using)
                .filter(number__in=chunk)
                .values_list("number", "id", "account_id", "account__number", "charge_type")
            )
            for number, *ref in rows:
                self.charges[number] = _ChargeRef(*ref)


class _UsageWriter:
    """Inserts usage rows with one executemany per batch.

    bulk_create would build model objects and, on SQLite, split each batch into statements
    of 124 rows (999 parameters); one prepared statement run over the batch is several times
    faster on both databases and keeps the query count per batch constant.
    """

    FIELDS = (
        "account",
        "charge",
        "quantity",
        "usage_date",
        "status",
        "line",
        "source",
        "created_at",
    )

    def __init__(self, using: str):
        self.connection = connection = connections[using]
        meta = UsageRecord._meta
        fields = [meta.get_field(name) for name in self.FIELDS]
        quote = connection.ops.quote_name
        self.sql = (
            f"INSERT INTO {quote(meta.db_table)} "
            f"({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        self.quantity = meta.get_field("quantity")
        self.usage_date = meta.get_field("usage_date")
        self.created_at = meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)

    def prepare(self, account_id, charge_id, quantity, usage_date, source) -> tuple:
        connection = self.connection
        return (
            account_id,
            charge_id,
            self.quantity.get_db_prep_save(quantity, connection),
            self.usage_date.get_db_prep_save(usage_date, connection),
            UsageRecord.Status.PENDING.value,
            None,
            source,
            self.created_at,
        )

    def insert(self, rows: list[tuple]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(self.sql, rows)


def import_usage(
    stream: TextIO,
    *,
    file_name: str,
    write_valid: bool = False,
    on_progress: Callable[[int], None] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> ImportResult:
    """Import usage records from a CSV text stream; see the module's docstring for the rules.

    Raises ImportFileError when the file as a whole cannot be read (nothing is written then).
    `on_progress` gets the number of rows read after each batch.
    """
    positions, rows = _read_csv(stream, USAGE)
    width = len(positions)
    columns = tuple(positions[c.name] for c in USAGE_COLUMNS)
    result = ImportResult(kind=USAGE, file_name=file_name, write_valid=write_valid)
    source = _source_name(file_name) + ":"
    references = _UsageReferences(using)
    writer = _UsageWriter(using)
    # Exact key of every valid row so far -> its row number. The key is one int per row: the
    # charge (which fixes the account), the day and the quantity in millionths.
    seen: dict[int, int] = {}

    with ExitStack() as writing, _refusals_as_file_errors():
        writing.enter_context(transaction.atomic(using=using))
        open_transaction = True
        batch: list[tuple[int, list[str]]] = []

        def flush() -> None:
            nonlocal open_transaction
            valid = _check_usage_batch(
                batch, columns, width, references, seen, result, writer, source
            )
            result.rows_valid += len(valid)
            if open_transaction and result.error_count and not write_valid:
                # All or nothing, and something is bad: give back what was written and stop
                # writing now, rather than hold the transaction while the rest is checked.
                transaction.set_rollback(True, using=using)
                writing.close()
                open_transaction = False
                result.rows_written = 0
            if open_transaction and valid:
                writer.insert(valid)
                result.rows_written += len(valid)
            batch.clear()
            if on_progress:
                on_progress(result.rows_read)

        for row, values in rows:
            result.rows_read += 1
            batch.append((row, values))
            if len(batch) >= BATCH_SIZE:
                flush()
        if batch:
            flush()
    result.created = {"usage records": result.rows_written}
    return result


@contextmanager
def _refusals_as_file_errors():
    """A charge deleted while its usage was being written: nothing is written, one line says so."""
    try:
        yield
    except IntegrityError as error:
        raise _write_failed(error) from None


def _write_failed(error: IntegrityError) -> ImportFileError:
    return ImportFileError(
        f"The database refused the write ({error}), probably because the data changed while "
        "the file was checked: nothing imported. Import the file again."
    )


def _check_usage_batch(
    batch: list[tuple[int, list[str]]],
    columns: tuple[int, int, int, int],
    width: int,
    references: _UsageReferences,
    seen: dict[int, int],
    result: ImportResult,
    writer: _UsageWriter,
    source: str,
) -> list[tuple]:
    """Validate a batch of usage rows; record the errors, return the valid rows to insert."""
    i_account, i_charge, i_quantity, i_date = columns
    references.load(
        {values[i_account].strip() for _, values in batch} - {""},
        {values[i_charge].strip() for _, values in batch} - {""},
    )
    accounts, charges = references.accounts, references.charges
    valid = []
    for row, values in batch:
        errors = []
        extra = _extra_values(values, width)
        if extra:
            result.add_row_errors(row, [("", extra)])
            continue
        account_number = values[i_account].strip()
        charge_number = values[i_charge].strip()
        quantity_text = values[i_quantity].strip()
        date_text = values[i_date].strip()

        account_id = None
        if not account_number:
            errors.append(("account_number", MISSING))
        else:
            account_id = accounts[account_number]
            if account_id is None:
                errors.append(("account_number", f"unknown account {account_number}"))
        charge = None
        if not charge_number:
            errors.append(("charge_number", MISSING))
        else:
            charge = charges[charge_number]
            if charge is None:
                errors.append(("charge_number", f"unknown charge {charge_number}"))
            elif account_id is not None and charge.account_id != account_id:
                errors.append(
                    (
                        "charge_number",
                        f"charge {charge_number} is not of account {account_number} "
                        f"(it belongs to {charge.account_number})",
                    )
                )
            elif charge.charge_type != Charge.ChargeType.USAGE:
                errors.append(
                    (
                        "charge_number",
                        f"wrong charge type: {charge_number} is a {charge.charge_type} charge; "
                        "usage goes on Usage charges",
                    )
                )
        quantity: Decimal | str = MISSING
        if quantity_text:
            quantity = _parse_decimal(quantity_text, negative=False)
        if isinstance(quantity, str):
            errors.append(("quantity", quantity))
        usage_date = _parse_date(date_text) if date_text else MISSING
        if isinstance(usage_date, str):
            errors.append(("usage_date", usage_date))
        if errors:
            result.add_row_errors(row, errors)
            continue

        millionths = int(quantity.scaleb(_DECIMAL_PLACES))
        key = (((charge.id << 22) | usage_date.toordinal()) << 70) | millionths
        first = seen.setdefault(key, row)
        if first != row:
            result.add_row_errors(
                row,
                [
                    (
                        "",
                        f"duplicate of row {first} (same account, charge, usage date and quantity)",
                    )
                ],
            )
            continue
        valid.append(writer.prepare(account_id, charge.id, quantity, usage_date, f"{source}{row}"))
    return valid


# --- Accounts -------------------------------------------------------------------------------
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
# Model field -> CSV column, where they differ.
_ACCOUNT_COLUMN_OF = {"name": "account_name", "number": "account_number"}
_CHARGE_COLUMN_OF = {"name": "charge_name"}
_SUBSCRIPTION_COLUMN_OF: dict[str, str] = {}

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

    See the module's docstring for the rules. Raises ImportFileError when the file as a whole
    cannot be read (nothing is written then).
    """
    positions, rows = _read_csv(stream, ACCOUNTS)
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
        extra = _extra_values(values, width)
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
                account_values, account_errors = _clean_account(get, number)
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
            errors += _clean_subscription(get)[1]
        else:
            shared = tuple(get(column) for column in SUBSCRIPTION_COLUMNS_SHARED)
            subscription = plan.subscriptions.get(subscription_ref)
            if subscription is None:
                subscription_values, subscription_errors = _clean_subscription(get)
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
        charge_values, charge_errors = _clean_charge(get)
        errors += charge_errors
        if errors:
            row_errors[row] = errors
        elif subscription is not None:
            subscription.charges.append(charge_values)

    _check_numbers(plans, row_errors, using=using)
    valid_plans = _whole_accounts(plans, row_errors)
    for row in sorted(row_errors):
        result.add_row_errors(row, row_errors[row])
    result.rows_valid = sum(len(plan.rows) for plan in valid_plans)

    result.created = {"accounts": 0, "subscriptions": 0, "charges": 0}
    if valid_plans and (write_valid or not result.error_count):
        try:
            with transaction.atomic(using=using):
                for batch in batched(valid_plans, ACCOUNTS_PER_WRITE):
                    _write_accounts(batch, result, using)
        except IntegrityError as error:
            # Someone created one of the given numbers between the check and the write.
            raise _write_failed(error) from None
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


def _full_clean(instance, errors, column_of: dict[str, str], *, exclude=()) -> None:
    """Run the model's own validation, leaving out fields already found wrong.

    Constraints are checked by the import itself: Django validates a CheckConstraint with one
    query per instance, too slow for a file.
    """
    failed = {field for field, _ in errors}
    skip = [*exclude, *(f for f, c in column_of.items() if c in failed), *failed]
    try:
        instance.full_clean(exclude=skip, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            if name in skip:
                continue  # the model's clean() runs whatever is excluded
            column = "" if name == "__all__" else column_of.get(name, name)
            errors += [(column, str(message).rstrip(".")) for message in messages]


def _clean_account(get, number: str) -> tuple[dict, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    values = {
        "number": number,
        "name": get("account_name"),
        "status": Account.Status.ACTIVE,
        "currency": get("currency").upper(),
        "batch": get("batch") or BATCHES[0],
        "bill_to_name": get("bill_to_name"),
        "bill_to_email": get("bill_to_email"),
        "bill_cycle_day": None,
        "payment_term_days": 30,
    }
    for column in ("account_name", "currency", "bill_cycle_day"):
        if not get(column):
            errors.append((column, MISSING))
    if get("bill_cycle_day"):
        day = _parse_whole_number(get("bill_cycle_day"), low=1, high=31)
        if isinstance(day, str):
            errors.append(("bill_cycle_day", day))
        else:
            values["bill_cycle_day"] = day
    if values["batch"] not in BATCHES:
        errors.append(("batch", f"{values['batch']!r} is not a batch: use Batch1 … Batch50"))
    if get("payment_term_days"):
        days = _parse_whole_number(get("payment_term_days"), low=0, high=32767)
        if isinstance(days, str):
            errors.append(("payment_term_days", days))
        else:
            values["payment_term_days"] = days
    instance = Account(**values)
    _full_clean(instance, errors, _ACCOUNT_COLUMN_OF)
    return _field_values(instance, values), errors


def _clean_subscription(get) -> tuple[dict, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    values: dict = {"status": Subscription.Status.ACTIVE, "term_start": None, "term_end": None}
    for column, required in (("term_start", True), ("term_end", False)):
        text = get(column)
        if not text:
            if required:
                errors.append((column, MISSING))
            continue
        day = _parse_date(text)
        if isinstance(day, str):
            errors.append((column, day))
        else:
            values[column] = day
    if values["term_start"] and values["term_end"] and values["term_end"] < values["term_start"]:
        errors.append(("term_end", _constraint_message(Subscription, "subscription_term_ordered")))
    instance = Subscription(**values)
    _full_clean(instance, errors, _SUBSCRIPTION_COLUMN_OF, exclude=["account"])
    return _field_values(instance, values), errors


def _clean_charge(get) -> tuple[dict, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    Type, Model = Charge.ChargeType, Charge.ChargeModel
    charge_type, charge_model = get("charge_type"), get("charge_model")
    values: dict = {
        "name": get("charge_name"),
        "charge_type": charge_type,
        "charge_model": charge_model,
        "price": Decimal(0),
        "quantity": Decimal(1),
        "billing_period": get("billing_period"),
        "billing_timing": get("billing_timing")
        or (
            Charge.BillingTiming.IN_ARREARS
            if charge_type == Type.USAGE
            else Charge.BillingTiming.IN_ADVANCE
        ),
        "effective_start": None,
        "effective_end": None,
        "uom": get("uom"),
        "tiers": [],
    }
    for column in ("charge_name", "charge_type", "charge_model", "effective_start"):
        if not get(column):
            errors.append((column, MISSING))
    choices = (
        ("charge_type", Type, "a charge type"),
        ("charge_model", Model, "a charge model"),
        ("billing_period", Charge.BillingPeriod, "a billing period"),
        ("billing_timing", Charge.BillingTiming, "a billing timing"),
    )
    for column, choice, what in choices:
        text = values[column]
        if text and (reason := _choice(text, choice, what)):
            errors.append((column, reason))
    for column, negative in (("price", True), ("quantity", True)):
        text = get(column)
        if text:
            number = _parse_decimal(text, negative=negative)
            if isinstance(number, str):
                errors.append((column, number))
            else:
                values[column] = number
        elif column == "price" and charge_model in (Model.FLAT_FEE, Model.PER_UNIT):
            errors.append((column, f"{MISSING}: {charge_model} charges need a price"))
    for column in ("effective_start", "effective_end"):
        if get(column):
            day = _parse_date(get(column))
            if isinstance(day, str):
                errors.append((column, day))
            else:
                values[column] = day
    if get("tiers"):
        try:
            # Numbers stay strings ("0.10"), never floats: money is never a float.
            values["tiers"] = json.loads(get("tiers"), parse_float=str)
        except json.JSONDecodeError as error:
            errors.append(("tiers", f"not valid JSON ({error.msg} at character {error.pos + 1})"))

    # The model's check constraints, said in its own words, on the column to fix.
    if charge_type in (Type.RECURRING, Type.USAGE) and not values["billing_period"]:
        errors.append(
            (
                "billing_period",
                _constraint_message(Charge, "charge_period_when_recurring_or_usage"),
            )
        )
    if charge_type == Type.USAGE and charge_model == Model.FLAT_FEE:
        errors.append(("charge_model", _constraint_message(Charge, "charge_usage_not_flat_fee")))
    start, end = values["effective_start"], values["effective_end"]
    if start and end and end < start:
        errors.append(("effective_end", _constraint_message(Charge, "charge_effective_ordered")))
    instance = Charge(**values)
    exclude = ["subscription", "account"]
    if any(column in {"charge_type", "charge_model"} for column, _ in errors):
        exclude.append("tiers")  # which rule applies to the tiers depends on the model
    _full_clean(instance, errors, _CHARGE_COLUMN_OF, exclude=exclude)
    return _field_values(instance, values), errors


def _field_values(instance, values: dict) -> dict:
    """The values after the model's cleaning (to_python), for the write."""
    return {name: getattr(instance, name) for name in values}


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
    result.created["subscriptions"] += len(subscriptions)
    result.created["charges"] += len(charges)


IMPORTERS = {ACCOUNTS: import_accounts, USAGE: import_usage}
