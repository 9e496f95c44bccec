"""Export bill runs to CSV or XLSX with the list page's filters (columns: exports/rows.py)."""

import os

from django.core.management.base import BaseCommand, CommandError

from billruns import exports
from billruns.management.commands._common import parse_date
from billruns.models import BillRun

FORMATS = ("csv", "xlsx")
YES_NO = {"yes": "true", "no": "false"}
DATE_OPTIONS = {
    "created_from": ("--created-from", "created_after"),
    "created_to": ("--created-to", "created_before"),
    "target_from": ("--target-from", "target_after"),
    "target_to": ("--target-to", "target_before"),
}


def _choices(values) -> str:
    return ", ".join(values)


class Command(BaseCommand):
    help = (
        "Export bill runs (newest first) to CSV or XLSX; the filters are the list page's. "
        "--output - writes CSV to standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", dest="export_format", metavar="csv|xlsx")
        parser.add_argument("--output", metavar="FILE", help="File to write; - for stdout (CSV).")
        parser.add_argument(
            "--status", action="append", default=[], metavar="STATUS", help="Repeatable."
        )
        parser.add_argument("--run-type", metavar="AdHoc|Scheduled")
        for option, (flag, _param) in DATE_OPTIONS.items():
            parser.add_argument(flag, dest=option, metavar="YYYY-MM-DD")
        parser.add_argument("--has-failures", metavar="yes|no")
        parser.add_argument("--search", metavar="TEXT", help="A run number or part of a name.")

    def handle(self, *args, **options):
        export_format = options["export_format"]
        if export_format not in FORMATS:
            given = f", not {export_format!r}" if export_format else ""
            raise CommandError(f"--format must be csv or xlsx{given}.")
        output = options["output"]
        if not output:
            raise CommandError("--output is required: a file name, or - for standard output.")
        if output == "-" and export_format == "xlsx":
            raise CommandError("XLSX cannot go to standard output: give --output FILE.xlsx.")
        data = self.filter_data(options)
        statuses = self.statuses(options)
        try:
            rows = exports.bill_run_rows(exports.filtered_bill_runs(data, statuses=statuses))
            if output == "-":
                count = exports.write_csv(_Unwrapped(self.stdout), exports.BILL_RUN_HEADER, rows)
            else:
                count = self.write_file(output, export_format, rows)
        except exports.ExportError as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror or error}.") from None
        if output == "-":
            # stdout carries the CSV: the summary goes to stderr, unstyled (it is no error).
            self.stderr.write(f"Wrote {count} bill runs to standard output.", style_func=str)
        else:
            self.stdout.write(f"Wrote {count} bill runs to {output}.")

    def statuses(self, options) -> list[str]:
        known = BillRun.Status.values
        for status in options["status"]:
            if status not in known:
                raise CommandError(f"Unknown status {status!r}: use {_choices(known)}.")
        return options["status"]

    def filter_data(self, options) -> dict[str, str]:
        data = {}
        run_type = options["run_type"]
        if run_type:
            if run_type not in BillRun.RunType.values:
                raise CommandError(
                    f"Unknown run type {run_type!r}: use {_choices(BillRun.RunType.values)}."
                )
            data["run_type"] = run_type
        for option, (flag, param) in DATE_OPTIONS.items():
            if options[option]:
                data[param] = parse_date(options[option], flag).isoformat()
        has_failures = options["has_failures"]
        if has_failures:
            if has_failures not in YES_NO:
                raise CommandError(f"--has-failures must be yes or no, not {has_failures!r}.")
            data["has_failures"] = YES_NO[has_failures]
        if options["search"]:
            data["q"] = options["search"]
        return data

    def write_file(self, output: str, export_format: str, rows) -> int:
        # Written beside the target and renamed into place: a failed export leaves no half file.
        partial = f"{output}.partial"
        try:
            if export_format == "csv":
                with open(partial, "w", newline="", encoding="utf-8") as stream:
                    count = exports.write_csv(stream, exports.BILL_RUN_HEADER, rows)
            else:
                count = exports.write_xlsx(partial, exports.BILL_RUN_HEADER, rows)
            os.replace(partial, output)
        except BaseException:
            if os.path.exists(partial):
                os.remove(partial)
            raise
        return count


class _Unwrapped:
    """Command output without the newline OutputWrapper adds to each write."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")
