"""Fields every endpoint shares."""

import datetime as dt

from django.utils import timezone
from rest_framework import serializers

from billruns.terms import MAX_YEARS_AHEAD

# Zuora refuses dates more than ten years ahead; no billing date lies before 2000 either.
EARLIEST = dt.date(2000, 1, 1)


def date_window() -> tuple[dt.date, dt.date]:
    """The first and last date a request may send: 2000-01-01 to ten years from today."""
    today = timezone.localdate()
    return EARLIEST, today.replace(year=today.year + MAX_YEARS_AHEAD, day=min(today.day, 28))


def sane_date(value: dt.date) -> dt.date:
    earliest, latest = date_window()
    if not earliest <= value <= latest:
        raise serializers.ValidationError(f"Use a date from {earliest} to {latest}.")
    return value


class SaneDateField(serializers.DateField):
    """An ISO date from 2000-01-01 to ten years from today."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", []).append(sane_date)
        super().__init__(**kwargs)
