"""Writing rows as CSV and XLSX files, whatever the rows are (bill runs, documents).

CSV: UTF-8 without a byte order mark; dates ISO (2026-02-01); timestamps ISO 8601 in UTC with
their offset, to the second (2026-02-01T09:00:00+00:00); amounts exact decimal strings, never
floats; empty cells for missing values; text that a spreadsheet would run as a formula (it starts
with = + - @, a tab or a carriage return) gets a leading apostrophe (core.spreadsheets). XLSX: real dates and numbers, so a spreadsheet can sort
and add them up; Excel has no time zones, so timestamps are written as timezone-naive UTC;
amounts are written from their Decimal with a number format of as many places as they carry
(the currency's minor unit, once rounded); text that starts with "=" stays text, never a
formula.

CSV lines are generated one at a time and the XLSX workbook is write-only (openpyxl spills rows
to disk), so a file of a million rows is never held in memory.
"""

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.spreadsheets import csv_text

# Excel's sheet size, header row included.
XLSX_MAX_ROWS = 1_048_576
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An XLSX bigger than this is spooled from memory to a temporary file on disk.
XLSX_SPOOL_BYTES = 8 * 1024 * 1024

# The values a row may hold: the writers format each kind as described above.
Cell = str | int | Decimal | dt.date | dt.datetime | None


class ExportError(Exception):
    """Input an export cannot honour; the message is one line for a page or a command."""


# -- CSV -----------------------------------------------------------------------------------------


class Echo:
    """A file-like object whose write() hands the line back (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def csv_lines(header: list[str], rows: Iterable[list[Cell]]) -> Iterator[str]:
    """The CSV text, one line at a time, for a StreamingHttpResponse or a file."""
    writer = csv.writer(Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def write_csv(stream: IO[str], header: list[str], rows: Iterable[list[Cell]]) -> int:
    """Write the CSV to an open text stream; returns the number of data rows."""
    count = 0

    def counted():
        nonlocal count
        for row in rows:
            count += 1
            yield row

    for line in csv_lines(header, counted()):
        stream.write(line)
    return count


# -- XLSX ----------------------------------------------------------------------------------------


def write_xlsx(
    target, header: list[str], rows: Iterable[list[Cell]], *, title: str = "Bill runs"
) -> int:
    """Write a one-sheet workbook to a path or binary file; returns the number of data rows.

    Raises ExportError past Excel's row limit (the caller should discard the partial file).
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for index, name in enumerate(header):
        sheet.column_dimensions[get_column_letter(index + 1)].width = max(12, len(name) + 2)
    bold = Font(bold=True)
    header_cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    too_many = False
    for row in rows:
        if count + 1 >= XLSX_MAX_ROWS:
            too_many = True
            break
        count += 1
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    # Saved even when refused: saving is what closes and removes openpyxl's own temporary file.
    workbook.save(target)
    if too_many:
        raise ExportError(
            f"An XLSX sheet holds at most {XLSX_MAX_ROWS - 1:,} rows: "
            "narrow the filters or export CSV."
        )
    return count


def xlsx_file(header: list[str], rows: Iterable[list[Cell]], *, title: str = "Bill runs"):
    """The workbook in a temporary file, rewound, for a FileResponse (which closes it)."""
    spool = tempfile.SpooledTemporaryFile(max_size=XLSX_SPOOL_BYTES)
    try:
        write_xlsx(spool, header, rows, title=title)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _xlsx_cell(sheet, value: Cell):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        places = -value.as_tuple().exponent
        cell.number_format = "0." + "0" * places if places > 0 else "0"
        return cell
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("", value)
        if text.startswith("="):
            # openpyxl would store it as a formula; a name or message is never one.
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"
            return cell
        return text or None
    return value
