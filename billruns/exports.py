"""Exports of bill runs (CSV and XLSX) and of one run's documents (CSV).

The bill run columns are DESIGN §7's Billing Run data source fields, in that order, followed by
the statistics an operator reconciles with: Number Of Failures, Number Of Zero Amount Invoices,
Invoice Amount, Credit Memo Amount, Amounts By Currency. How each column is filled:

- ID: the run's primary key. Billing Run Number: BR-00000001.
- Billing Run Type, Status, Target Type: the stored values, spelled as in Zuora
  ("AdHoc"/"Scheduled", "CancelInProgress", "SingleAccount"/"MultipleAccounts"), not the labels.
- Created By, Updated By: usernames; empty when the system did it (or the user was deleted).
- Created Date, Updated Date: created_at, updated_at. Start Date and Executed Date: executed_at
  (processing started; Zuora reports both). End Date: completed_at (processing ended). Posted
  Date: posted_at, empty until the run is posted. All are timestamps.
- Invoice Date, Target Date: dates.
- Total Time: total_time_ms in **seconds**, with 3 decimals (83456 ms → 83.456): processing
  time, not posting; empty until the run has finished processing.
- Invoice Amount, Credit Memo Amount: the run's totals in its one currency, rounded to that
  currency's minor unit ("1234.50", JPY "1235"). Amounts of different currencies are never
  added, so both are empty for a run that billed several currencies (or none yet): read
  Amounts By Currency, e.g. "EUR invoice 10.00 credit 0.00; USD invoice 12.34 credit 0.00"
  (currencies in alphabetical order, "credit" being the credit memo total).

CSV: UTF-8 without a byte order mark; dates ISO (2026-02-01); timestamps ISO 8601 in UTC with
their offset, to the second (2026-02-01T09:00:00+00:00); amounts exact decimal strings, never
floats; empty cells for missing values. XLSX: real dates and numbers, so a spreadsheet can sort
and add them up; Excel has no time zones, so timestamps are written as timezone-naive UTC;
amounts are written from their Decimal with a number format of the currency's minor unit; text
that starts with "=" stays text, never a formula.

Rows come from the database with `.iterator(chunk_size=2000)` over one query, CSV lines are
generated one at a time and the XLSX workbook is write-only (openpyxl spills rows to disk), so
an export of a million runs never holds them in memory.
"""

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO

from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from billruns.filters import BillRunFilter
from billruns.models import BillRun
from core.money import round_amount
from invoicing.models import BillingDocument

CHUNK_SIZE = 2000
MILLISECOND = Decimal("0.001")
# Excel's sheet size, header row included.
XLSX_MAX_ROWS = 1_048_576
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An XLSX bigger than this is spooled from memory to a temporary file on disk.
XLSX_SPOOL_BYTES = 8 * 1024 * 1024

BILL_RUN_HEADER = [
    "Billing Run Number",
    "Billing Run Type",
    "Created By",
    "Created Date",
    "End Date",
    "Error Message",
    "Executed Date",
    "ID",
    "Invoice Date",
    "Name",
    "Number Of Accounts",
    "Number Of Credit Memos",
    "Number Of Invoices",
    "Posted Date",
    "Start Date",
    "Status",
    "Target Date",
    "Target Type",
    "Total Time",
    "Updated By",
    "Updated Date",
    "Number Of Failures",
    "Number Of Zero Amount Invoices",
    "Invoice Amount",
    "Credit Memo Amount",
    "Amounts By Currency",
]
BILL_RUN_FIELDS = [
    "id",
    "number",
    "name",
    "run_type",
    "target_type",
    "status",
    "error_message",
    "invoice_date",
    "target_date",
    "created_by__username",
    "created_at",
    "updated_by__username",
    "updated_at",
    "executed_at",
    "completed_at",
    "posted_at",
    "total_time_ms",
    "number_of_accounts",
    "number_of_invoices",
    "number_of_zero_amount_invoices",
    "number_of_credit_memos",
    "number_of_failures",
    "invoice_amount",
    "credit_memo_amount",
    "amounts_by_currency",
]
DOCUMENT_HEADER = [
    "Number",
    "Account Number",
    "Account Name",
    "Kind",
    "Status",
    "Document Date",
    "Due Date",
    "Target Date",
    "Amount",
    "Currency",
]
DOCUMENT_FIELDS = [
    "number",
    "account__number",
    "account__name",
    "kind",
    "status",
    "document_date",
    "due_date",
    "target_date",
    "amount",
    "currency",
]

Cell = str | int | Decimal | dt.date | dt.datetime | None


class ExportError(Exception):
    """Input an export cannot honour; the message is one line for a page or a command."""


# -- rows ----------------------------------------------------------------------------------------


def filtered_bill_runs(data, *, statuses: Iterable[str] = ()) -> QuerySet[BillRun]:
    """The runs the list page shows for these GET parameters, in the page's order.

    Invalid filters raise ExportError rather than being dropped: an export silently wider than
    asked for is worse than none.
    """
    runs = BillRun.objects.all()
    statuses = list(statuses)
    if statuses:
        runs = runs.filter(status__in=statuses)
    filterset = BillRunFilter(data, queryset=runs)
    if not filterset.is_valid():
        raise ExportError(_first_error(filterset))
    return filterset.qs


def _first_error(filterset: BillRunFilter) -> str:
    for name, errors in filterset.errors.items():
        label = filterset.form.fields[name].label if name in filterset.form.fields else name
        return f"Invalid filter {label or name}: {' '.join(errors)}"
    return "Invalid filters."


def bill_run_rows(runs: QuerySet[BillRun]) -> Iterator[list[Cell]]:
    """One row of BILL_RUN_HEADER's cells per run, read in chunks from one query."""
    runs = runs.select_related("created_by", "updated_by").only(*BILL_RUN_FIELDS)
    for run in runs.iterator(chunk_size=CHUNK_SIZE):
        yield bill_run_row(run)


def bill_run_row(run: BillRun) -> list[Cell]:
    currencies = sorted(run.amounts_by_currency or {})
    if len(currencies) == 1:
        invoice_amount = _money(run.invoice_amount, currencies[0])
        credit_memo_amount = _money(run.credit_memo_amount, currencies[0])
    else:
        invoice_amount = credit_memo_amount = None
    total_time = (
        (Decimal(run.total_time_ms) / 1000).quantize(MILLISECOND)
        if run.total_time_ms is not None
        else None
    )
    return [
        run.number,
        run.run_type,
        _username(run.created_by),
        run.created_at,
        run.completed_at,
        run.error_message,
        run.executed_at,
        run.pk,
        run.invoice_date,
        run.name,
        run.number_of_accounts,
        run.number_of_credit_memos,
        run.number_of_invoices,
        run.posted_at,
        run.executed_at,
        run.status,
        run.target_date,
        run.target_type,
        total_time,
        _username(run.updated_by),
        run.updated_at,
        run.number_of_failures,
        run.number_of_zero_amount_invoices,
        invoice_amount,
        credit_memo_amount,
        amounts_by_currency_text(run.amounts_by_currency or {}),
    ]


def amounts_by_currency_text(amounts: dict) -> str:
    """{"USD": {"invoice": "12.340", "credit_memo": "0"}} → "USD invoice 12.34 credit 0.00"."""
    return "; ".join(
        f"{currency} invoice {_money(totals.get('invoice', 0), currency):f}"
        f" credit {_money(totals.get('credit_memo', 0), currency):f}"
        for currency, totals in sorted(amounts.items())
    )


def document_rows(documents: QuerySet[BillingDocument]) -> Iterator[list[Cell]]:
    """One row of DOCUMENT_HEADER's cells per document, read in chunks from one query."""
    documents = documents.select_related("account").only(*DOCUMENT_FIELDS)
    for doc in documents.iterator(chunk_size=CHUNK_SIZE):
        yield [
            doc.number,
            doc.account.number,
            doc.account.name,
            doc.kind,
            doc.status,
            doc.document_date,
            doc.due_date,
            doc.target_date,
            _money(doc.amount, doc.currency),
            doc.currency,
        ]


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _money(value, currency: str) -> Decimal:
    amount = Decimal(str(value))
    try:
        return round_amount(amount, currency)
    except ValueError:  # not an ISO 4217 code: keep the stored digits rather than fail the export
        return amount


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
