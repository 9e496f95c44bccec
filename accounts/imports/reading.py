"""What both imports share: reading the CSV, matching its header, and recording the outcome.

Rules shared by both kinds:
- Row numbers are what a spreadsheet shows: the header is row 1, the first data row is row 2.
  A quoted value spanning lines is still one row; blank rows count but are skipped.
- Header names are matched without surrounding spaces and case. A missing required column, an
  unknown or a repeated column makes the whole file unreadable (ImportFileError, one line).
- Each error names its row, its column ("" for the row as a whole) and the reason.
- A NUL character anywhere makes the whole file unreadable, like a byte that is not UTF-8: it is
  not CSV text (a UTF-16 file, a binary file), and PostgreSQL could store none of it.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from django.db import IntegrityError

ACCOUNTS_LINKED = 10
MAX_ERRORS_KEPT = 1_000  # errors listed in a result; beyond it they are only counted
MISSING = "missing value"

Rows = Iterator[tuple[int, list[str]]]  # (row number, values)


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
    # What the import page links to: the accounts created (accounts) or given usage (usage),
    # the first ACCOUNTS_LINKED of them; `more_accounts` when there were others.
    account_numbers: list[str] = field(default_factory=list)
    more_accounts: bool = False
    source: str = ""  # usage: what each record's `source` starts with ("file.csv:")

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


def read_csv(stream: TextIO, kind: str, columns: Sequence[Column]) -> tuple[dict[str, int], Rows]:
    """The header's column positions, and the data rows as (row number, values).

    Blank rows are skipped (their numbers still count); short rows are padded with blanks.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(
            "The file is empty: its first row must be the header "
            f"({', '.join(c.name for c in columns)})."
        ) from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise _unreadable(error, row=1) from None
    _refuse_nul(header, [], row=1)  # the header row
    names = [name.strip().lstrip("\ufeff").strip().lower() for name in header]
    while names and not names[-1]:
        names.pop()  # trailing empty cells, as some spreadsheets export them
    positions: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in positions:
            raise ImportFileError(f"The header names the column {name!r} twice.")
        positions[name] = position
    known = {c.name for c in columns}
    unknown = [name for name in names if name not in known]
    if unknown:
        shown = ", ".join(repr(name) if name else "(blank)" for name in unknown)
        raise ImportFileError(
            f"Unknown column{'s' if len(unknown) > 1 else ''} in the header: {shown}. "
            f"The {kind} file has the columns {', '.join(c.name for c in columns)}."
        )
    missing = [c.name for c in columns if c.required == "yes" and c.name not in positions]
    if missing:
        raise ImportFileError(
            f"The header lacks the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}."
        )
    return positions, _rows(reader, names)


def _rows(reader, names: list[str]) -> Rows:
    width = len(names)
    row = 1
    try:
        for values in reader:
            row += 1
            joined = "".join(values)
            if not joined.strip():
                continue
            if "\x00" in joined:
                _refuse_nul(values, names, row=row)
            if len(values) < width:
                values += [""] * (width - len(values))
            yield row, values
    except (csv.Error, UnicodeDecodeError) as error:
        raise _unreadable(error, row=row + 1) from None


def _refuse_nul(values: list[str], names: list[str], *, row: int) -> None:
    for position, value in enumerate(values):
        if "\x00" in value:
            column = names[position] if position < len(names) and names[position] else None
            where = f"row {row}, column {column}" if column else f"row {row}"
            raise ImportFileError(
                f"The file holds a NUL character ({where}), so it is not CSV text: "
                "save it as CSV UTF-8."
            )


def _unreadable(error: Exception, *, row: int) -> ImportFileError:
    if isinstance(error, UnicodeDecodeError):
        return ImportFileError(
            f"The file is not UTF-8 text (a byte that is not UTF-8 near row {row}): "
            "save it as CSV UTF-8."
        )
    return ImportFileError(f"Row {row} cannot be read as CSV: {error}.")


def extra_values(values: list[str], width: int) -> str | None:
    """Why a row with more values than the header has columns is refused, or None."""
    if len(values) > width and any(value.strip() for value in values[width:]):
        return f"has {len(values)} values but the header has {width} columns"
    return None


@contextmanager
def refusals_as_file_errors():
    """A write the database refuses (the data changed since it was checked): one line says so."""
    try:
        yield
    except IntegrityError as error:
        raise ImportFileError(
            f"The database refused the write ({error}), probably because the data changed while "
            "the file was checked: nothing imported. Import the file again."
        ) from None
