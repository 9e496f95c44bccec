"""Create a bill run from the command line; with --wait, bill it in this process."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Account
from billruns import execution, services
from billruns.management.commands._common import find_user, parse_date
from billruns.models import BillRun
from billruns.terms import ALL_CHARGE_TYPES, RunTerms, TargetType, check_charge_types
from core.errors import DomainError
from core.progress import Progress


class Command(BaseCommand):
    help = "Create a bill run (prints its number first); --wait bills it here and prints a summary."

    def add_arguments(self, parser):
        scope = parser.add_argument_group("scope (one of --account, or batches/day/--all)")
        scope.add_argument("--account", metavar="NUMBER", help="Bill one account, e.g. A00000001.")
        scope.add_argument(
            "--batch", action="append", default=[], metavar="NAME", help="Repeatable: Batch7."
        )
        scope.add_argument("--bill-cycle-day", type=int, metavar="N")
        scope.add_argument("--all", action="store_true", help="Every batch and bill cycle day.")
        parser.add_argument("--invoice-date", metavar="YYYY-MM-DD", help="Default: today.")
        parser.add_argument("--target-date", metavar="YYYY-MM-DD")
        parser.add_argument(
            "--exclude-charge-type",
            action="append",
            default=[],
            metavar="TYPE",
            help="Repeatable: OneTime, Recurring or Usage.",
        )
        parser.add_argument("--auto-post", action="store_true")
        parser.add_argument("--auto-email", action="store_true")
        parser.add_argument("--no-email-for-zero-amount", action="store_true")
        parser.add_argument("--name", default="")
        parser.add_argument("--user", metavar="USERNAME", help="Who creates the run.")
        parser.add_argument("--idempotency-key")
        parser.add_argument(
            "--wait", action="store_true", help="Bill the run in this process and print a summary."
        )

    def handle(self, *args, **options):
        if not options["target_date"]:
            raise CommandError("--target-date is required (YYYY-MM-DD).")
        target_date = parse_date(options["target_date"], "--target-date")
        invoice_date = (
            parse_date(options["invoice_date"], "--invoice-date")
            if options["invoice_date"]
            else timezone.localdate()
        )
        try:
            check_charge_types(options["exclude_charge_type"], may_be_empty=True)
        except DomainError as error:
            raise CommandError(str(error)) from None
        charge_types = [t for t in ALL_CHARGE_TYPES if t not in options["exclude_charge_type"]]
        account = None
        target_type = TargetType.MULTIPLE_ACCOUNTS
        if options["account"]:
            if options["batch"] or options["bill_cycle_day"] or options["all"]:
                raise CommandError(
                    "--account cannot be combined with --batch, --bill-cycle-day or --all."
                )
            try:
                account = Account.objects.get(number=options["account"])
            except Account.DoesNotExist:
                raise CommandError(f"No account numbered {options['account']!r}.") from None
            target_type = TargetType.SINGLE_ACCOUNT
        elif not (options["batch"] or options["bill_cycle_day"] or options["all"]):
            raise CommandError("Choose a scope: --account, --batch, --bill-cycle-day or --all.")
        try:
            run = services.create_bill_run(
                terms=RunTerms(
                    invoice_date=invoice_date,
                    target_date=target_date,
                    target_type=target_type,
                    account=account,
                    batches=options["batch"],
                    bill_cycle_day=options["bill_cycle_day"],
                    charge_types=charge_types,
                    auto_post=options["auto_post"],
                    auto_email=options["auto_email"],
                    no_email_for_zero_amount=options["no_email_for_zero_amount"],
                    name=options["name"],
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
        amounts = "; ".join(
            f"{currency} invoices {totals['invoice']}, credit memos {totals['credit_memo']}"
            for currency, totals in run.amounts_by_currency.items()
        )
        self.stdout.write(
            f"{run.number} {run.status}: {run.number_of_accounts} accounts, "
            f"{run.number_of_invoices} invoices ({run.number_of_zero_amount_invoices} zero-amount), "
            f"{run.number_of_credit_memos} credit memos, {run.number_of_failures} failures"
            f"{'; ' + amounts if amounts else ''}; {seconds:.1f} s"
        )
        if run.status == BillRun.Status.ERROR:
            raise CommandError(f"{run.number} ended in error: {run.error_message}")
