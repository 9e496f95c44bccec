"""The schedule form: the run terms of BillRunTermsForm, a calendar rule and date offsets.

It parses and validates, and saves nothing: billruns.schedules.services writes.
"""

import datetime as dt

from django import forms
from django.conf import settings
from django.utils import timezone

from billruns.forms import BillRunTermsForm, within_window
from billruns.models import ALL_CHARGE_TYPES, BillRunSchedule
from core.filtering import DATE_INPUT


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


MAX_OFFSET_DAYS = 366


def offset_days_field(label: str) -> forms.IntegerField:
    """A date of each run, as days from the run date."""
    return forms.IntegerField(
        min_value=-MAX_OFFSET_DAYS,
        max_value=MAX_OFFSET_DAYS,
        initial=0,
        label=label,
        help_text="Days after the run date (negative: before).",
    )


class ScheduleForm(BillRunTermsForm):
    """A recurring bill run: the run terms, a calendar rule and date offsets."""

    name = forms.CharField(max_length=255, help_text="Each run is named after it and its date.")
    bill_cycle_day = forms.ChoiceField(
        choices=BillRunSchedule.BILL_CYCLE_DAY_CHOICES,
        required=False,
        label="Bill cycle day",
        help_text="As run day: the accounts whose bill cycle day is the run's day of the month "
        "(on a month's last day, every later day too).",
    )
    frequency = forms.ChoiceField(
        choices=BillRunSchedule.Frequency.choices,
        widget=forms.RadioSelect,
        initial=BillRunSchedule.Frequency.MONTHLY,
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=list(enumerate(BillRunSchedule.WEEKDAY_NAMES)),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Weekly schedules run on these days.",
    )
    day_of_month = forms.IntegerField(
        min_value=1,
        max_value=31,
        required=False,
        label="Day of month",
        help_text="Monthly schedules: 29–31 mean the month's last day in shorter months.",
    )
    run_time = forms.TimeField(
        widget=TimeInput(), label="Run time", help_text=f"In {settings.TIME_ZONE} time."
    )
    # Zuora refuses a schedule more than ten years ahead (terms.date_window).
    starts_on = forms.DateField(widget=DATE_INPUT, label="Starts on", validators=[within_window])
    ends_on = forms.DateField(
        widget=DATE_INPUT,
        required=False,
        label="Ends on",
        help_text="Empty: never ends.",
        validators=[within_window],
    )
    invoice_date_offset_days = offset_days_field("Invoice date")
    target_date_offset_days = offset_days_field("Target date")

    SCHEDULE_FIELDS = [
        "frequency",
        "weekdays",
        "day_of_month",
        "run_time",
        "starts_on",
        "ends_on",
        "invoice_date_offset_days",
        "target_date_offset_days",
    ]

    def __init__(self, *args, instance: BillRunSchedule | None = None, **kwargs):
        """`instance`: the schedule being edited, whose values the form starts from."""
        initial = kwargs.setdefault("initial", {})
        if instance is not None:
            initial.update({field: getattr(instance, field) for field in self.SCHEDULE_FIELDS})
            initial.update(
                name=instance.name,
                scope=self.SCOPE_ACCOUNT if instance.account_id else self.SCOPE_BATCHES,
                account=instance.account.number if instance.account_id else "",
                batches=instance.batches,
                bill_cycle_day=instance.bill_cycle_day,
                charge_types=instance.charge_types,
                auto_post=instance.auto_post,
                auto_email=instance.auto_email,
                no_email_for_zero_amount=instance.no_email_for_zero_amount,
            )
        else:
            initial.setdefault("charge_types", list(ALL_CHARGE_TYPES))
            initial.setdefault("starts_on", timezone.localdate())
            initial.setdefault("run_time", dt.time(6, 0))
            initial.setdefault("day_of_month", 1)
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        frequency = cleaned.get("frequency")
        if frequency == BillRunSchedule.Frequency.WEEKLY and not cleaned.get("weekdays"):
            self.add_error("weekdays", "Choose the weekdays a weekly schedule runs on.")
        if frequency == BillRunSchedule.Frequency.MONTHLY and not cleaned.get("day_of_month"):
            self.add_error("day_of_month", "Choose the day of the month a monthly schedule runs.")
        if frequency != BillRunSchedule.Frequency.WEEKLY:
            cleaned["weekdays"] = []
        if frequency != BillRunSchedule.Frequency.MONTHLY:
            cleaned["day_of_month"] = None
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "A schedule cannot end before it starts.")
        return cleaned

    def schedule_fields(self) -> dict:
        """The BillRunSchedule fields typed, as create_schedule and update_schedule take them."""
        terms = self.scope_terms()
        terms["bill_cycle_day"] = terms["bill_cycle_day"] or ""
        return {**terms, **{field: self.cleaned_data[field] for field in self.SCHEDULE_FIELDS}}

    def preview_rule(self) -> dict | None:
        """What dates.preview takes (billruns.schedules), as far as the input parses; else None."""
        data = self.cleaned_data
        needed = ["frequency", "run_time", "starts_on"]
        if any(data.get(field) in (None, "") for field in needed):
            return None
        return {
            "frequency": data["frequency"],
            "weekdays": data.get("weekdays") or [],
            "day_of_month": data.get("day_of_month"),
            "starts_on": data["starts_on"],
            "ends_on": data.get("ends_on"),
            "invoice_date_offset_days": data.get("invoice_date_offset_days") or 0,
            "target_date_offset_days": data.get("target_date_offset_days") or 0,
            "bill_cycle_day": ""
            if data.get("scope") == self.SCOPE_ACCOUNT
            else data.get("bill_cycle_day") or "",
        }
