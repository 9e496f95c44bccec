"""`manage.py seed_demo_history`: the demo's past bill runs (billruns.demo), after seed_demo."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Account
from billruns.demo import Step, seed_demo_history
from billruns.models import BillRun


class Command(BaseCommand):
    help = (
        "Give the demo a past: monthly bill runs before --as-of, posted, one canceled, the last "
        "with failed accounts (run after seed_demo; make demo does)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="The demo's today, YYYY-MM-DD (default today).")
        parser.add_argument("--months", default="6", help="Monthly runs (default 6, at least 3).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when a bill run exists already."
        )

    def handle(self, *args, **options):
        try:
            as_of = (
                timezone.localdate()
                if options["as_of"] is None
                else dt.date.fromisoformat(str(options["as_of"]))
            )
        except ValueError:
            raise CommandError(
                f"--as-of must be a date as YYYY-MM-DD, not {options['as_of']!r}."
            ) from None
        try:
            months = int(str(options["months"]))
        except ValueError:
            raise CommandError(
                f"--months must be a whole number, not {options['months']!r}."
            ) from None
        if months < 3:
            raise CommandError(f"--months must be at least 3 (got {months}).")
        if options["if_empty"] and BillRun.objects.exists():
            self.stdout.write("Bill runs already there; no demo history added.")
            return
        if not Account.objects.exists():
            raise CommandError("There are no accounts: run manage.py seed_demo first.")
        operator = get_user_model().objects.filter(username="operator").first()
        if operator is None:
            raise CommandError("The demo login operator is missing: run manage.py seed_demo first.")

        def show(step: Step) -> None:
            run = step.run
            self.stdout.write(
                f"{run.number} {run.name}: {run.get_status_display()}, "
                f"{run.number_of_invoices:,} invoices, {run.number_of_failures:,} failures "
                f"({step.story})."
            )

        # The past's completion emails would reach the operator today: not sent.
        try:
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
                seed_demo_history(as_of=as_of, operator=operator, months=months, on_step=show)
        except RuntimeError as error:
            raise CommandError(str(error)) from None
