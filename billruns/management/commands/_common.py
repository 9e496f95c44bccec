"""What the bill run commands share: parsing dates and users, finding runs, progress."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from billruns.models import BillRun


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


class Progress:
    """A bar on a terminal, a line per step otherwise (logs stay readable)."""

    def __init__(self, stream, total: int, label: str):
        self.stream = stream
        self.total = total
        self.label = label
        self.tty = getattr(stream, "isatty", lambda: False)()

    def update(self, done: int, detail: str = "") -> None:
        if self.tty:
            width = 30
            filled = width * done // self.total if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {done}/{self.total} {self.label} {detail}", ending="")
            self.stream.flush()
            if done == self.total:
                self.stream.write("")
        else:
            self.stream.write(f"{done}/{self.total} {self.label} {detail}".rstrip())
