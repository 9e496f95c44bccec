"""The bill run forms: turn what the operator typed into a run's terms (billruns.terms).

The terms' rules stay in RunTerms.validate and the services; a form only parses input, asks for
the account behind a number, and asks for a confirmation when the target date is far ahead
(Zuora does).
"""

import datetime as dt
import uuid

from django import forms
from django.conf import settings
from django.utils import timezone

from accounts.models import Account, Batch, Charge
from billruns import terms
from billruns.models import BillRunSchedule
from billruns.terms import ALL_CHARGE_TYPES, RunTerms, TargetType
from core.filtering import DATE_INPUT

BILL_CYCLE_DAY_CHOICES = [("", "All bill cycle days"), *[(day, day) for day in range(1, 32)]]


def one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


class BillRunTermsForm(forms.Form):
    """What a run bills and does afterwards: shared by the new run form and the schedule form."""

    SCOPE_BATCHES = "batches"
    SCOPE_ACCOUNT = "account"

    scope = forms.ChoiceField(
        choices=[
            (SCOPE_BATCHES, "Batches and bill cycle day"),
            (SCOPE_ACCOUNT, "One account"),
        ],
        initial=SCOPE_BATCHES,
        widget=forms.RadioSelect,
        label="Bill",
    )
    account = forms.CharField(
        required=False,
        max_length=20,
        label="Account",
        help_text="An account number; type a number or a name to search.",
    )
    batches = forms.MultipleChoiceField(
        choices=Batch.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="None ticked: every batch.",
    )
    bill_cycle_day = forms.TypedChoiceField(
        choices=BILL_CYCLE_DAY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        label="Bill cycle day",
    )
    charge_types = forms.MultipleChoiceField(
        choices=Charge.ChargeType.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Charge types",
        error_messages={"required": terms.NO_CHARGE_TYPE},
    )
    auto_post = forms.BooleanField(required=False, label="Post the documents when the run ends")
    auto_email = forms.BooleanField(required=False, label="Email the documents after posting")
    no_email_for_zero_amount = forms.BooleanField(
        required=False, label="No email for zero-amount invoices"
    )
    name = forms.CharField(required=False, max_length=255)

    def clean_account(self) -> Account | None:
        number = self.cleaned_data["account"].strip().upper()
        if self.data.get("scope") != self.SCOPE_ACCOUNT:
            return None
        if not number:
            raise forms.ValidationError("Choose the account to bill.")
        account = Account.objects.filter(number=number).first()
        if account is None:
            raise forms.ValidationError(f"No account has the number {number}.")
        if not account.is_billable:
            raise forms.ValidationError(terms.inactive_account(account))
        return account

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("no_email_for_zero_amount") and not cleaned.get("auto_email"):
            cleaned["no_email_for_zero_amount"] = False
        return cleaned

    def scope_terms(self) -> dict:
        """Scope and options, as RunTerms and BillRunSchedule name them."""
        data = self.cleaned_data
        single = data["scope"] == self.SCOPE_ACCOUNT
        return {
            "target_type": TargetType.SINGLE_ACCOUNT if single else TargetType.MULTIPLE_ACCOUNTS,
            "account": data["account"] if single else None,
            "batches": [] if single else data["batches"],
            "bill_cycle_day": None if single else data["bill_cycle_day"],
            "charge_types": [t for t in ALL_CHARGE_TYPES if t in data["charge_types"]],
            "auto_post": data["auto_post"],
            "auto_email": data["auto_email"],
            "no_email_for_zero_amount": data["no_email_for_zero_amount"],
            "name": data["name"].strip(),
        }


class BillRunForm(BillRunTermsForm):
    invoice_date = forms.DateField(widget=DATE_INPUT, label="Invoice date")
    target_date = forms.DateField(
        widget=DATE_INPUT,
        label="Target date",
        help_text="Charges are billed up to this date.",
        error_messages={"required": terms.NO_TARGET_DATE},
    )
    confirm_far_target_date = forms.BooleanField(
        required=False, label="Yes, bill up to this target date"
    )
    # One key per form shown: a double click or a resent POST creates the run once.
    idempotency_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_confirmation = False
        if not self.is_bound:
            self.initial.setdefault("invoice_date", timezone.localdate())
            self.initial.setdefault("charge_types", list(ALL_CHARGE_TYPES))
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            if self.initial.get("account"):
                self.initial.setdefault("scope", self.SCOPE_ACCOUNT)

    def clean(self):
        cleaned = super().clean()
        target_date = cleaned.get("target_date")
        if (
            target_date
            and target_date > one_year_after(timezone.localdate())
            and not cleaned.get("confirm_far_target_date")
        ):
            self.needs_confirmation = True
            self.add_error(
                "target_date",
                f"{target_date:%Y-%m-%d} is more than a year ahead: every charge would be "
                "billed up to it. Tick the confirmation below to go ahead.",
            )
        return cleaned

    def run_terms(self) -> RunTerms:
        """The terms services.create_bill_run takes."""
        data = self.cleaned_data
        return RunTerms(
            **self.scope_terms(),
            invoice_date=data["invoice_date"],
            target_date=data["target_date"],
        )


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class ScheduleForm(BillRunTermsForm):
    """A recurring bill run: the run terms, a calendar rule and date offsets."""

    MAX_OFFSET_DAYS = 366

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
    starts_on = forms.DateField(widget=DATE_INPUT, label="Starts on")
    ends_on = forms.DateField(
        widget=DATE_INPUT, required=False, label="Ends on", help_text="Empty: never ends."
    )
    invoice_date_offset_days = forms.IntegerField(
        min_value=-MAX_OFFSET_DAYS,
        max_value=MAX_OFFSET_DAYS,
        initial=0,
        label="Invoice date",
        help_text="Days after the run date (negative: before).",
    )
    target_date_offset_days = forms.IntegerField(
        min_value=-MAX_OFFSET_DAYS,
        max_value=MAX_OFFSET_DAYS,
        initial=0,
        label="Target date",
        help_text="Days after the run date (negative: before).",
    )

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
        self.instance = instance
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

    def save(self, *, owner) -> BillRunSchedule:
        """Create or update the schedule (its django-q2 Schedule follows through a signal)."""
        schedule = self.instance or BillRunSchedule(owner=owner)
        terms = self.scope_terms()
        terms["bill_cycle_day"] = terms["bill_cycle_day"] or ""
        for field, value in terms.items():
            setattr(schedule, field, value)
        for field in self.SCHEDULE_FIELDS:
            setattr(schedule, field, self.cleaned_data[field])
        schedule.full_clean()
        schedule.save()
        return schedule

    def preview_rule(self) -> dict | None:
        """The fields schedule_dates.preview takes, as far as the input parses; None if not."""
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
