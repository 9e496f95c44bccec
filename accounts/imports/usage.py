"""The usage import: columns account_number, charge_number, quantity, usage_date.

Validated row by row and written in batches of BATCH_SIZE inside the one transaction; references
are read per batch with `IN` lookups and cached. Memory holds one batch, the numbers met so far,
and one int per valid row for the duplicate check (about 120 bytes a row: ~120 MB for a million
rows), never model objects. In all-or-nothing mode the first bad row rolls the transaction back
at once (releasing SQLite's write lock) and the rest of the file is only validated. Each record
is Pending, its `source` "<file name>:<row>".

A file whose data rows were imported before is refused (RepeatedFileError, nothing written)
unless the operator says it is new usage (`again=True`): the same usage imported twice bills
twice. The rows are recognised by a hash of their values (UsageImport), read as they go by, so
the check is made when the file has been read, before the transaction commits.
"""

import hashlib
from collections.abc import Callable
from contextlib import ExitStack
from decimal import Decimal
from pathlib import PurePath
from typing import TextIO

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone

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
from accounts.imports.values import DECIMAL_PLACES, parse_date, parse_decimal
from accounts.models import Account, UsageImport, UsageRecord
from accounts.usage import PENDING, UsageReferences
from core.bulk import BulkWriter
from core.iterables import batched

USAGE = "usage"
# What the import writes of a usage record, in the order of the rows it builds.
WRITTEN_COLUMNS = (
    "account_id", "charge_id", "quantity", "usage_date", "status", "line_id", "source", "created_at"
)  # fmt: skip
BATCH_SIZE = 5_000  # usage rows validated and inserted together
SOURCE_INDEX = WRITTEN_COLUMNS.index("source")
SOURCE_MAX_LENGTH = UsageRecord._meta.get_field("source").max_length
# A row number of up to 12 digits and its colon always fit after the file name.
SOURCE_NAME_MAX_LENGTH = SOURCE_MAX_LENGTH - 13

FIELD_ORDER = ("account_number", "charge_number", "quantity", "usage_date")
USAGE_COLUMNS = (
    Column("account_number", "yes", "An existing account's number.", "A00000001"),
    Column("charge_number", "yes", "A Usage charge of that account.", "C00000003"),
    Column(
        "quantity",
        "yes",
        f"A number of 0 or more, up to {DECIMAL_PLACES} decimals, with a dot.",
        "12.5",
    ),
    Column("usage_date", "yes", "YYYY-MM-DD.", "2026-01-15"),
)


def import_usage(
    stream: TextIO,
    *,
    file_name: str,
    write_valid: bool = False,
    on_progress: Callable[[int], None] | None = None,
    again: bool = False,
    acting_user=None,
    using: str = DEFAULT_DB_ALIAS,
) -> ImportResult:
    """Import usage records from a CSV text stream.

    The rules are this module's docstring, with those both imports share in the package's and
    in `reading`'s. Raises ImportFileError when the file as a whole cannot be read, and its
    RepeatedFileError when its rows were imported before and `again` is not given (nothing is
    written then). `on_progress` gets the number of rows read after each batch.
    """
    positions, rows = read_csv(stream, USAGE, USAGE_COLUMNS)
    width = len(positions)
    columns = tuple(positions[c.name] for c in USAGE_COLUMNS)
    result = ImportResult(kind=USAGE, file_name=file_name, write_valid=write_valid)
    source = _source_name(file_name) + ":"
    references = UsageReferences(using)
    writer = BulkWriter(connections[using])
    # Converted once here rather than once per row: the rows are inserted as prepared.
    created_at = writer.prepare_value(timezone.now())
    # Exact key of every valid row so far -> its row number. The key is one int per row: the
    # charge (which fixes the account), the day and the quantity in millionths.
    seen: dict[int, int] = {}
    content = hashlib.sha256()
    sources: list[str] = []  # the source of the first and the last record written
    linked: dict[int, None] = {}  # ids of the first accounts given usage, in file order

    with ExitStack() as writing, refusals_as_file_errors():
        writing.enter_context(transaction.atomic(using=using))
        open_transaction = True
        for batch in batched(rows, BATCH_SIZE):
            result.rows_read += len(batch)
            _hash_rows(content, batch, columns)
            valid = _check_usage_batch(
                batch, columns, width, references, seen, result, source, created_at
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
                writer.insert(UsageRecord, WRITTEN_COLUMNS, valid, prepared=True)
                result.rows_written += len(valid)
                if not sources:
                    sources.append(valid[0][SOURCE_INDEX])
                sources[1:] = [valid[-1][SOURCE_INDEX]]
                result.more_accounts |= _link_accounts(linked, valid)
            if on_progress:
                on_progress(result.rows_read)
            # Let go of this batch's rows now: batched() holds its list until it has read the
            # next one, and the import should hold one batch at a time, not two.
            batch.clear()
            valid.clear()
        if open_transaction and result.rows_written:
            # Raised inside the transaction: a repeat refused writes nothing.
            _remember_file(
                content.hexdigest(),
                file_name=file_name,
                sources=sources,
                records=result.rows_written,
                again=again,
                acting_user=acting_user,
                using=using,
            )
    result.created = {"usage records": result.rows_written}
    result.source = source
    if linked and result.rows_written:
        numbers = Account.objects.using(using).filter(pk__in=linked).order_by("number")
        result.account_numbers = list(numbers.values_list("number", flat=True))
    return result


class RepeatedFileError(ImportFileError):
    """The file's rows were imported before: importing them again would bill that usage twice."""

    def __init__(self, message: str, *, previous: UsageImport):
        super().__init__(message)
        self.previous = previous


def _hash_rows(content, batch: list[tuple[int, list[str]]], columns: tuple[int, ...]) -> None:
    """Add the rows' values to the file's hash: the four columns in their own order, stripped,
    so that moving a column, a BOM or other line endings make no other file; the quantity
    without the trailing zeros of its decimals, which a spreadsheet drops when it saves the
    file again (12.50 is 12.5, 3.0 is 3)."""
    text = []
    for _, values in batch:
        cells = [values[i].strip() for i in columns]
        quantity = cells[2]  # the columns are USAGE_COLUMNS' order
        if "." in quantity:
            cells[2] = quantity.rstrip("0").rstrip(".") or quantity
        text.append("\x1f".join(cells) + "\x1e")
    content.update("".join(text).encode())


def _remember_file(
    content_hash: str,
    *,
    file_name: str,
    sources: list[str],
    records: int,
    again: bool,
    acting_user,
    using: str,
) -> UsageImport:
    """Record the file's import, or refuse it when the same rows were imported before and the
    operator did not say to import them again."""
    imports = UsageImport.objects.using(using).filter(content_hash=content_hash)
    previous = imports.select_related("imported_by").order_by("-repeat").first()
    if previous is not None and not again:
        raise RepeatedFileError(_repeat_message(previous), previous=previous)
    try:
        with transaction.atomic(using=using):
            return UsageImport.objects.using(using).create(
                content_hash=content_hash,
                repeat=previous.repeat + 1 if previous is not None else 0,
                file_name=file_name,
                first_source=sources[0],
                last_source=sources[-1],
                records=records,
                imported_at=timezone.now(),
                imported_by=acting_user,
            )
    except IntegrityError:
        # Another import of the same rows recorded itself first and has committed (PostgreSQL
        # waits for it): this one is the repeat, and says so as any repeat does.
        previous = imports.select_related("imported_by").order_by("-repeat").first()
        if previous is None:
            raise
        raise RepeatedFileError(_repeat_message(previous), previous=previous) from None


def _repeat_message(previous: UsageImport) -> str:
    by = f" by {previous.imported_by.get_username()}" if previous.imported_by else ""
    again = f" ({previous.repeat + 1} times)" if previous.repeat else ""
    return (
        f"These rows were already imported{again}: {previous.file_name} on "
        f"{timezone.localtime(previous.imported_at):%Y-%m-%d %H:%M}{by}, "
        f"{previous.records:,} usage record{'s' if previous.records != 1 else ''} with source "
        f"{previous.first_source} to {previous.last_source}. Nothing imported: the same usage "
        "imported twice is billed twice."
    )


def _check_usage_batch(
    batch: list[tuple[int, list[str]]],
    columns: tuple[int, int, int, int],
    width: int,
    references: UsageReferences,
    seen: dict[int, int],
    result: ImportResult,
    source: str,
    created_at: object,
) -> list[tuple]:
    """Validate a batch of usage rows; record the errors, return the valid rows to insert."""
    i_account, i_charge, i_quantity, i_date = columns
    references.load(
        {values[i_account].strip() for _, values in batch} - {""},
        {values[i_charge].strip() for _, values in batch} - {""},
    )
    valid = []
    for row, values in batch:
        errors = []
        extra = extra_values(values, width)
        if extra:
            result.add_row_errors(row, [("", extra)])
            continue
        account_number = values[i_account].strip()
        charge_number = values[i_charge].strip()
        quantity_text = values[i_quantity].strip()
        date_text = values[i_date].strip()

        for field, value in (("account_number", account_number), ("charge_number", charge_number)):
            if not value:
                errors.append((field, MISSING))
        quantity: Decimal | str = MISSING
        if quantity_text:
            quantity = parse_decimal(quantity_text, negative=False)
        if isinstance(quantity, str):
            errors.append(("quantity", quantity))
        usage_date = parse_date(date_text) if date_text else MISSING
        if isinstance(usage_date, str):
            errors.append(("usage_date", usage_date))
        if account_number and charge_number:
            account_id, charge, refusals = references.refusals(
                account_number,
                charge_number,
                usage_date if not isinstance(usage_date, str) else None,
            )
            errors += refusals
            errors.sort(key=lambda error: FIELD_ORDER.index(error[0]))  # stable: as the columns
        if errors:
            result.add_row_errors(row, errors)
            continue

        millionths = int(quantity.scaleb(DECIMAL_PLACES))
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
        valid.append((
            account_id, charge.id, quantity, usage_date, PENDING, None, f"{source}{row}", created_at
        ))  # fmt: skip
    return valid


def _link_accounts(linked: dict[int, None], written: list[tuple]) -> bool:
    """Keep the ids of the first ACCOUNTS_LINKED accounts given usage; True when `written`
    gives usage to another account beyond them."""
    for row in written:
        if row[0] not in linked:
            if len(linked) >= ACCOUNTS_LINKED:
                return True
            linked[row[0]] = None
    return False


def _source_name(file_name: str) -> str:
    """The file's own name (no folders), shortened in the middle to fit `source`."""
    name = PurePath(file_name.replace("\\", "/")).name or "upload.csv"
    if len(name) <= SOURCE_NAME_MAX_LENGTH:
        return name
    keep = SOURCE_NAME_MAX_LENGTH - 1
    return name[: keep - 20] + "…" + name[-20:]
