"""The bill run forms: turn what the operator typed into a run's terms (billruns.terms).

The terms' rules stay in RunTerms.validate and the services; a form only parses input, asks for
the account behind a number or a name, and asks for a confirmation when the target date is far ahead
(Zuora does).
"""

import datetime as dt
import re
import uuid

from django import forms
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import Account, Batch, Charge
from billruns import terms
from billruns.terms import ALL_CHARGE_TYPES, RunTerms, TargetType
from core.filtering import DATE_INPUT

ACCOUNT_NUMBER = re.compile(r"[A-Za-z]\d+")
BILL_CYCLE_DAY_CHOICES = [("", "All bill cycle days"), *[(day, day) for day in range(1, 32)]]


def one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def looks_like_a_number(typed: str) -> bool:
    return bool(ACCOUNT_NUMBER.fullmatch(typed.strip()))


def no_account_typed(typed: str) -> str:
    if looks_like_a_number(typed):
        return f"No account has the number {typed.strip().upper()}."
    return (
        f"No account has the number or the name “{typed.strip()}”: type part of the name and "
        "pick a suggestion."
    )


def several_accounts_named(typed: str, matches: list[Account]) -> str:
    return (
        f"Several accounts are named “{typed.strip()}” ({_numbers(matches)}): type the number "
        "of the one to bill."
    )


def none_active_named(typed: str, matches: list[Account]) -> str:
    return (
        f"No Active account is named “{typed.strip()}”: {_numbers(matches)} are not Active, and "
        "only Active accounts are billed."
    )


def _numbers(matches: list[Account]) -> str:
    """The numbers of the first accounts a typed name matched ("A1, A2 and more")."""
    shown = ", ".join(account.number for account in matches[: account_selectors.NAMED_SHOWN])
    return shown + (" and more" if len(matches) > account_selectors.NAMED_SHOWN else "")


def within_window(value: dt.date) -> None:
    """A form's side of terms.date_window: the field says which dates it takes."""
    if refusal := terms.date_refusal(value, today=timezone.localdate()):
        raise forms.ValidationError(refusal, code="out_of_range")


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
        max_length=255,  # a number, or a name (Account.name)
        label="Account",
        help_text="An account number or name; type a few letters to search.",
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
        typed = self.cleaned_data["account"].strip()
        if self.data.get("scope") != self.SCOPE_ACCOUNT:
            return None
        if not typed:
            raise forms.ValidationError("Choose the account to bill.")
        matches = account_selectors.accounts_typed(typed)
        if not matches:
            raise forms.ValidationError(no_account_typed(typed))
        if len(matches) > 1:
            # accounts_typed gives the Active ones when there are any: these are all inactive.
            if not matches[0].is_billable:
                raise forms.ValidationError(none_active_named(typed, matches))
            raise forms.ValidationError(several_accounts_named(typed, matches))
        account = matches[0]
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
    invoice_date = forms.DateField(
        widget=DATE_INPUT, label="Invoice date", validators=[within_window]
    )
    target_date = forms.DateField(
        widget=DATE_INPUT,
        validators=[within_window],
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
