"""The rows of the exports: one list of cells per bill run, or per document of a run.

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

How the cells become CSV and XLSX is billruns/exports/files.py's part. Rows come from the
database with `.iterator(chunk_size=2000)` over one query, so an export of a million runs never
holds them in memory.
"""

from collections.abc import Iterator

from django.db.models import QuerySet

from billruns.exports.files import Cell
from billruns.models import BillRun
from core.money import stored_amount
from invoicing.models import BillingDocument

CHUNK_SIZE = 2000

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


def bill_run_rows(runs: QuerySet[BillRun]) -> Iterator[list[Cell]]:
    """One row of BILL_RUN_HEADER's cells per run, read in chunks from one query."""
    runs = runs.select_related("created_by", "updated_by").only(*BILL_RUN_FIELDS)
    for run in runs.iterator(chunk_size=CHUNK_SIZE):
        yield bill_run_row(run)


def bill_run_row(run: BillRun) -> list[Cell]:
    currencies = sorted(run.amounts_by_currency or {})
    if len(currencies) == 1:
        invoice_amount = stored_amount(run.invoice_amount, currencies[0])
        credit_memo_amount = stored_amount(run.credit_memo_amount, currencies[0])
    else:
        invoice_amount = credit_memo_amount = None
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
        run.total_time_seconds,
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
        f"{currency} invoice {stored_amount(totals.get('invoice', 0), currency):f}"
        f" credit {stored_amount(totals.get('credit_memo', 0), currency):f}"
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
            stored_amount(doc.amount, doc.currency),
            doc.currency,
        ]


def _username(user) -> str | None:
    return user.get_username() if user is not None else None
