"""CSV import of accounts (with their subscriptions and charges) and of usage records.

Used by the import page and by `manage.py import_accounts` / `import_usage`. Both read a text
stream (UTF-8, comma-separated, header on the first row) with the csv module, one row at a time.
`reading` holds what the two kinds share (the header, row numbers, errors, the result), `values`
what a cell may hold, and `accounts` and `usage` the two imports with their own rules.

Default mode is all or nothing: one bad row and nothing is written. With `write_valid=True`
exactly the good rows are written. Either way the writes are one transaction, so an import is
never half-written, even when the file turns out unreadable half way through.
"""

import csv
import io

from accounts.imports.accounts import ACCOUNT_COLUMNS, ACCOUNTS, import_accounts
from accounts.imports.reading import Column, ImportFileError, ImportResult, RowError
from accounts.imports.usage import USAGE, USAGE_COLUMNS, RepeatedFileError, import_usage

__all__ = [
    "ACCOUNTS",
    "COLUMNS",
    "IMPORTERS",
    "KINDS",
    "USAGE",
    "Column",
    "ImportFileError",
    "ImportResult",
    "RepeatedFileError",
    "RowError",
    "import_accounts",
    "import_usage",
    "template_csv",
]

KINDS = (ACCOUNTS, USAGE)
COLUMNS = {ACCOUNTS: ACCOUNT_COLUMNS, USAGE: USAGE_COLUMNS}
IMPORTERS = {ACCOUNTS: import_accounts, USAGE: import_usage}


def template_csv(kind: str) -> str:
    """The header line and one example row of a kind's file."""
    columns = COLUMNS[kind]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    writer.writerow([c.example for c in columns])
    return text.getvalue()
