"""The Review tab's rows as a file (CSV or XLSX), in the tab's order.

Columns: Account Number, Account Name, Document Number, Document Kind, Document Status,
Document Date, Amount, Currency, Previous Document Number, Previous Document Kind, Previous
Document Date, Previous Amount, Change %, Lines, Reasons, Document URL, Previous Document URL.
Amounts are signed as the review compares them (a credit memo's negative), rounded to the
currency's minor unit; Change % has one decimal and is empty for a first document (or a previous
0.00); the previous document's columns are empty for a first document; Reasons are joined with
"; ". The URLs are the documents' pages.

CSV text that starts with = + - @ (or a tab or carriage return) is written with a leading
apostrophe by the CSV writer every export shares (core.spreadsheets), so that a spreadsheet
opening the file never reads an account name as a formula; XLSX keeps such text a string cell
(billruns/exports/files.py).
"""

from collections.abc import Callable, Iterable, Iterator

from billruns.exports.files import Cell
from billruns.review.selectors import ReviewRow

HEADER = [
    "Account Number",
    "Account Name",
    "Document Number",
    "Document Kind",
    "Document Status",
    "Document Date",
    "Amount",
    "Currency",
    "Previous Document Number",
    "Previous Document Kind",
    "Previous Document Date",
    "Previous Amount",
    "Change %",
    "Lines",
    "Reasons",
    "Document URL",
    "Previous Document URL",
]


def rows(review: Iterable[ReviewRow], *, url: Callable[[str], str]) -> Iterator[list[Cell]]:
    """One row of HEADER's cells per flagged document; `url` makes a page's path absolute."""
    for row in review:
        document, previous = row.document, row.previous
        yield [
            document.account.number,
            document.account.name,
            document.number,
            document.kind,
            document.status,
            document.document_date,
            row.amount,
            document.currency,
            previous.number if previous else None,
            previous.kind if previous else None,
            previous.document_date if previous else None,
            row.previous_amount,
            row.change_percent,
            row.lines,
            "; ".join(row.reasons),
            url(document.get_absolute_url()),
            url(previous.get_absolute_url()) if previous else None,
        ]
