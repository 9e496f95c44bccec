"""Exports of bill runs (CSV and XLSX) and of one run's documents (CSV).

- rows: the columns (what each holds) and the rows, read in chunks from one query.
- files: CSV and XLSX writing, for any rows.
- selectors: which runs and documents an export reads (the list page's filters).
- views, urls: the downloads, under the "billruns" namespace.

What export_bill_runs uses is named here.
"""

from billruns.exports.files import ExportError, write_csv, write_xlsx
from billruns.exports.rows import BILL_RUN_HEADER, bill_run_rows
from billruns.exports.selectors import filtered_bill_runs

__all__ = [
    "BILL_RUN_HEADER",
    "ExportError",
    "bill_run_rows",
    "filtered_bill_runs",
    "write_csv",
    "write_xlsx",
]
