"""Preview what a bill run would bill (DESIGN §11): the scope flags of create_bill_run; prints
the preview's number first. --wait rates it in this process with progress; --output FILE writes
its CSV once it is done (waiting for the workers unless --wait)."""

import os
import time

from django.core.management.base import BaseCommand, CommandError

from billruns.management.commands._common import (
    add_terms_arguments,
    amounts_text,
    find_user,
    terms_from_options,
)
from billruns.models import BillingPreviewChunk, BillingPreviewRun
from billruns.preview import result
from billruns.preview import services as previews
from billruns.preview.execution import preview_chunk
from core.errors import DomainError
from core.progress import Progress

POLL_SECONDS = 1


class Command(BaseCommand):
    help = (
        "Preview a bill run without writing it (prints the preview's number first); --wait "
        "rates it here, --output FILE writes its CSV."
    )

    def add_arguments(self, parser):
        add_terms_arguments(parser)
        parser.add_argument("--user", metavar="USERNAME", help="Who asks for the preview.")
        parser.add_argument("--output", metavar="FILE", help="Write the result's CSV here.")
        parser.add_argument(
            "--wait", action="store_true", help="Rate the preview in this process, with progress."
        )

    def handle(self, *args, **options):
        terms = terms_from_options(options)
        output = None
        if options["output"]:
            try:
                output = open(options["output"], "wb")
            except OSError as error:
                raise CommandError(f"Cannot write {options['output']}: {error.strerror}.") from None
        try:
            self.preview(terms, options, output)
        except BaseException:
            if output is not None and not output.tell():
                output.close()
                os.remove(options["output"])  # no file is better than an empty one
            raise
        finally:
            if output is not None:
                output.close()

    def preview(self, terms, options, output) -> None:
        try:
            preview = previews.create_preview(
                terms=terms, acting_user=find_user(options["user"]), enqueue=not options["wait"]
            )
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(preview.number)
        if options["wait"]:
            self.rate_here(preview)
        elif output is not None:
            self.wait_for_workers(preview)
        else:
            self.stdout.write(f"{preview.number} is Pending: a qcluster worker will rate it.")
            return
        preview.refresh_from_db()
        if preview.status == BillingPreviewRun.Status.CANCELED:
            raise CommandError(f"{preview.number} was canceled: it has no result.")
        if output is not None:
            for part in result.stream(preview):
                output.write(part)
        amounts = amounts_text(preview.amounts_by_currency)
        self.stdout.write(
            f"{preview.number} {preview.status}: {preview.number_of_accounts} accounts, "
            f"{preview.number_of_invoices} invoices, {preview.number_of_credit_memos} credit "
            f"memos, {preview.number_of_lines} lines, {preview.number_of_failures} failures"
            f"{'; ' + amounts if amounts else ''}; {preview.total_time_seconds or 0} s"
            + (f"; CSV in {options['output']}" if output is not None else "")
        )
        if preview.status == BillingPreviewRun.Status.ERROR:
            raise CommandError(f"{preview.number} ended in error: {preview.error_message}")

    def rate_here(self, preview: BillingPreviewRun) -> None:
        started = time.monotonic()
        previews.start_preview(preview_id=preview.pk, enqueue=False)
        chunk_ids = list(preview.chunks.order_by("sequence").values_list("id", flat=True))
        progress = Progress(self.stdout, label="chunks", total=len(chunk_ids))
        accounts = 0
        for done, chunk_id in enumerate(chunk_ids, start=1):
            rated = preview_chunk(chunk_id=chunk_id)
            accounts += rated.accounts if rated else 0
            elapsed = time.monotonic() - started
            progress.update(done, f"{accounts:,} accounts, {accounts / elapsed:,.0f}/s")
        # A chunk that raised was handed back to be tried again (up to its attempts): rate it
        # here too, or wait for a worker that took it, until the preview has finished.
        while True:
            preview.refresh_from_db()
            if not preview.is_live:
                return
            again = list(
                preview.chunks.filter(status=BillingPreviewChunk.Status.PENDING).values_list(
                    "id", flat=True
                )
            )
            for chunk_id in again:
                preview_chunk(chunk_id=chunk_id)
            if not again:
                time.sleep(POLL_SECONDS)

    def wait_for_workers(self, preview: BillingPreviewRun) -> None:
        progress = None
        while True:
            preview.refresh_from_db()
            if not preview.is_live:
                return
            if preview.chunks_total:
                progress = progress or Progress(
                    self.stdout, label="chunks", total=preview.chunks_total
                )
                progress.update(preview.chunks_done)
            time.sleep(POLL_SECONDS)
