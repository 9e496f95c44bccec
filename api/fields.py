"""Fields every endpoint shares."""

import datetime as dt

from django.utils import timezone
from rest_framework import serializers

from billruns import terms


def date_window() -> tuple[dt.date, dt.date]:
    """The first and last date a request may send: the pages' and commands' window
    (billruns.terms.date_window), 2000-01-01 to ten years from today."""
    return terms.date_window(timezone.localdate())


def sane_date(value: dt.date) -> dt.date:
    if refusal := terms.date_refusal(value, today=timezone.localdate()):
        raise serializers.ValidationError(refusal)
    return value


class SaneDateField(serializers.DateField):
    """An ISO date from 2000-01-01 to ten years from today."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", []).append(sane_date)
        super().__init__(**kwargs)
