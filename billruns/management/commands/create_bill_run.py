"""Create a bill run from the command line; with --wait, bill it in this process."""

import dataclasses
import time

from django.core.management.base import BaseCommand, CommandError

from billruns import execution, services
from billruns.management.commands._common import (
    add_terms_arguments,
    amounts_text,
    find_user,
    terms_from_options,
)
from billruns.models import BillRun
from core.errors import DomainError
from core.progress import Progress


class Command(BaseCommand):
    help = "Create a bill run (prints its number first); --wait bills it here and prints a summary."

    def add_arguments(self, parser):
        add_terms_arguments(parser)
        parser.add_argument("--auto-post", action="store_true")
        parser.add_argument("--auto-email", action="store_true")
        parser.add_argument("--no-email-for-zero-amount", action="store_true")
        parser.add_argument("--user", metavar="USERNAME", help="Who creates the run.")
        parser.add_argument("--idempotency-key")
        parser.add_argument(
            "--wait", action="store_true", help="Bill the run in this process and print a summary."
        )

    def handle(self, *args, **options):
        scope = terms_from_options(options)
        try:
            run = services.create_bill_run(
                terms=dataclasses.replace(
                    scope,
                    auto_post=options["auto_post"],
                    auto_email=options["auto_email"],
                    no_email_for_zero_amount=options["no_email_for_zero_amount"],
                ),
                acting_user=find_user(options["user"]),
                idempotency_key=options["idempotency_key"],
                enqueue=not options["wait"],
            )
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(run.number)
        if not options["wait"]:
            self.stdout.write(f"{run.number} is {run.status}: a qcluster worker will bill it.")
            return
        self.bill_here(run)

    def bill_here(self, run: BillRun) -> None:
        started = time.monotonic()
        services.start_bill_run(run_id=run.pk, enqueue=False)
        chunk_ids = list(run.chunks.order_by("sequence").values_list("id", flat=True))
        progress = Progress(self.stdout, label="chunks", total=len(chunk_ids))
        accounts = 0
        for done, chunk_id in enumerate(chunk_ids, start=1):
            result = execution.bill_chunk(chunk_id=chunk_id)
            accounts += result.accounts if result else 0
            elapsed = time.monotonic() - started
            progress.update(done, f"{accounts:,} accounts, {accounts / elapsed:,.0f}/s")
        run.refresh_from_db()
        seconds = (run.total_time_ms or 0) / 1000
        amounts = amounts_text(run.amounts_by_currency)
        self.stdout.write(
            f"{run.number} {run.status}: {run.number_of_accounts} accounts, "
            f"{run.number_of_invoices} invoices ({run.number_of_zero_amount_invoices} zero-amount), "
            f"{run.number_of_credit_memos} credit memos, {run.number_of_failures} failures"
            f"{'; ' + amounts if amounts else ''}; {seconds:.1f} s"
        )
        if run.status == BillRun.Status.ERROR:
            raise CommandError(f"{run.number} ended in error: {run.error_message}")
