"""What import_accounts and import_usage share: open the file, list the errors, sum up."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts import imports

ERRORS_LISTED = 100
PROGRESS_EVERY = 100_000  # rows, for a line per step when not on a terminal


class ImportCommand(BaseCommand):
    kind: str

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="A CSV file, UTF-8, header first.")
        parser.add_argument(
            "--write-valid",
            action="store_true",
            help="Import the valid rows and skip the bad ones (default: one bad row imports "
            "nothing).",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        started = time.monotonic()
        try:
            stream = path.open(encoding="utf-8-sig", newline="")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from None
        with stream:
            try:
                result = self.run(
                    stream, file_name=path.name, write_valid=options["write_valid"], options=options
                )
            except imports.ImportFileError as error:
                raise CommandError(f"{path.name}: {error}") from None
        for error in result.errors[:ERRORS_LISTED]:
            self.stderr.write(str(error))
        if result.error_count > ERRORS_LISTED:
            self.stderr.write(f"… and {result.error_count - ERRORS_LISTED:,} more errors")
        seconds = time.monotonic() - started
        if result.written:
            skipped = f"; skipped {result.bad_rows:,} bad rows" if result.bad_rows else ""
            self.stdout.write(
                f"Imported {result.created_text()} from {result.rows_written:,} rows of "
                f"{path.name}{skipped} in {seconds:.1f} s."
            )
        elif result.bad_rows:
            bad = f"{result.bad_rows:,} bad row{'s' if result.bad_rows != 1 else ''}"
            if not result.rows_valid:
                raise CommandError(f"{bad} and no valid row: nothing imported.")
            valid = f"{result.rows_valid:,} valid row{'s' if result.rows_valid != 1 else ''}"
            raise CommandError(
                f"{bad}: nothing imported (use --write-valid to import the {valid})."
            )
        else:
            self.stdout.write(f"No rows to import in {path.name}.")

    def run(
        self, stream, *, file_name: str, write_valid: bool, options: dict
    ) -> imports.ImportResult:
        raise NotImplementedError
