"""What the bill run commands share: parsing dates and users, finding runs."""

import datetime as dt
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from billruns.models import BillRun
from billruns.services.lifecycle import InProgress
from core.errors import DomainError


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
