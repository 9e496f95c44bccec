"""What the bill run commands share: a run's scope flags, parsing dates and users, finding
runs."""

import datetime as dt
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Account
from billruns.models import BillRun
from billruns.services.lifecycle import InProgress
from billruns.terms import ALL_CHARGE_TYPES, RunTerms, TargetType, check_charge_types
from core.errors import DomainError


def add_terms_arguments(parser) -> None:
    """The scope, dates, charge types and name of a run (create_bill_run, preview_bill_run)."""
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
    parser.add_argument("--name", default="")


def terms_from_options(options: dict) -> RunTerms:
    """The RunTerms the flags of add_terms_arguments give; CommandError (one line) if they
    name no scope, two scopes, an unknown account, a bad date or charge type."""
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
    return RunTerms(
        invoice_date=invoice_date,
        target_date=target_date,
        target_type=target_type,
        account=account,
        batches=options["batch"],
        bill_cycle_day=options["bill_cycle_day"],
        charge_types=[t for t in ALL_CHARGE_TYPES if t not in options["exclude_charge_type"]],
        name=options["name"],
    )


def amounts_text(amounts_by_currency: dict) -> str:
    """A run's (or a preview's) totals per currency, as the summaries print them."""
    return "; ".join(
        f"{currency} invoices {totals['invoice']}, credit memos {totals['credit_memo']}"
        for currency, totals in amounts_by_currency.items()
    )


def parse_date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{option} must be an ISO date such as 2026-02-01, not {value!r}."
        ) from None


def find_user(username: str | None):
    if not username:
        return None
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"No user named {username!r}.") from None


def find_run(number: str) -> BillRun:
    try:
        return BillRun.objects.get(number=number)
    except BillRun.DoesNotExist:
        raise CommandError(f"No bill run numbered {number!r}.") from None


WAIT_SECONDS = 1


class RunTransitionCommand(BaseCommand):
    """`manage.py <verb>_bill_run NUMBER [--user USERNAME]`: one service call, one line out."""

    finished_status = ""  # where the transition ends (a wait for another process may end there)

    def transition(self, *, run: BillRun, acting_user) -> BillRun:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("number", help="The run's number, e.g. BR-00000001.")
        parser.add_argument("--user", metavar="USERNAME", help="Who acts (recorded in History).")

    def handle(self, *args, **options):
        run = find_run(options["number"])
        acting_user = find_user(options["user"])
        waiting = False
        while True:
            try:
                run = self.transition(run=run, acting_user=acting_user)
            except InProgress as error:
                # Another process holds it: wait until it finishes, or until its lease lapses
                # (it died) and asking again takes over.
                if not waiting:
                    self.stdout.write(f"{error} Waiting for it…")
                    waiting = True
                time.sleep(WAIT_SECONDS)
                continue
            except DomainError as error:
                run.refresh_from_db()
                if waiting and run.status == self.finished_status:
                    break  # the process we waited for finished it
                raise CommandError(str(error)) from None
            break
        self.stdout.write(f"{run.number} {run.status}.")
