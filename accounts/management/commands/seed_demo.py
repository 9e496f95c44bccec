import datetime as dt

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, SeedProgress, ensure_demo_logins, seed_demo_accounts
from accounts.models import Account
from core.progress import Progress


def _whole_number(value, option: str, *, minimum: int | None = None) -> int:
    try:
        # "1,000,000" and "1_000_000" read as they are meant.
        number = value if isinstance(value, int) else int(str(value).replace(",", ""))
    except ValueError:
        raise CommandError(f"{option} must be a whole number, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise CommandError(f"{option} must be at least {minimum:,} (got {number:,}).")
    return number


def _date(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Create reproducible demo accounts with subscriptions, charges and pending usage, "
        "and the demo logins operator and viewer."
    )

    def add_arguments(self, parser):
        # Parsed in handle() rather than by argparse, so bad input is one line and exit 1.
        parser.add_argument("--accounts", default=2000, help="How many accounts (default 2,000).")
        parser.add_argument("--seed", default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--as-of",
            help="Date the data is built around, YYYY-MM-DD (default today): subscriptions "
            "start in the months before it and usage is dated up to it.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when there is no account yet (the demo logins are ensured anyway).",
        )

    def handle(self, *args, **options):
        count = _whole_number(options["accounts"], "--accounts", minimum=1)
        seed = _whole_number(options["seed"], "--seed")
        as_of = timezone.localdate() if options["as_of"] is None else _date(options["as_of"])

        existing = Account.objects.count() if options["if_empty"] else 0
        if existing:
            self.stdout.write(f"Demo data already there ({existing:,} accounts); not seeding.")
        else:
            progress = Progress(self.stdout, label="accounts", total=count)

            def show(step: SeedProgress) -> None:
                progress.update(
                    step.accounts_done,
                    f"({step.accounts_per_second:,.0f}/s)",
                    line=f"Part {step.part}/{step.parts}: {step.accounts_done:,}/"
                    f"{step.accounts_total:,} accounts, {step.seconds:.1f} s, "
                    f"{step.accounts_per_second:,.0f} accounts/s",
                )

            summary = seed_demo_accounts(count=count, seed=seed, as_of=as_of, on_progress=show)
            progress.end()
            self.stdout.write(
                f"Seeded {summary.accounts:,} accounts, {summary.subscriptions:,} subscriptions, "
                f"{summary.charges:,} charges, {summary.usage_records:,} usage records "
                f"in {summary.seconds:.1f} s (seed {seed}, as of {as_of.isoformat()})."
            )
        try:
            logins = ensure_demo_logins()
        except Group.DoesNotExist:
            raise CommandError(
                "The groups Billing Operator and Billing Viewer are missing: "
                "run manage.py migrate first."
            ) from None
        names = ", ".join(f"{username} ({group})" for username, group in logins)
        self.stdout.write(f"Demo logins, password {DEMO_PASSWORD}: {names}.")
