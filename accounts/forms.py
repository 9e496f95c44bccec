"""The accounts forms: the CSV import, and the amendments of a subscription (cancel, change or
remove a charge, add one). They parse what the operator typed into domain values (dates,
Decimals, tier lists) and show what does not parse in place; the lifecycle services in
accounts/services.py decide what the subscription allows."""

import json
from decimal import Decimal

from django import forms

from accounts import imports
from accounts.models import PRICE, Charge
from core.filtering import DATE_INPUT
from core.tiers import InvalidTiers, load_tiers, parse_tiers

KIND_LABELS = {
    imports.ACCOUNTS: "Accounts, with their subscriptions and charges",
    imports.USAGE: "Usage records",
}


AGAIN_LABEL = "Import usage rows that were imported before"


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds", widget=forms.RadioSelect)
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 (with or without a BOM), comma-separated, the header on the first row.",
    )
    write_valid = forms.BooleanField(
        required=False,
        label="Import the valid rows and skip the bad ones",
        help_text="Unticked, one bad row imports nothing. For accounts, a bad row skips its "
        "whole account.",
    )
    again = forms.BooleanField(
        required=False,
        label=AGAIN_LABEL,
        help_text="Usage only. A usage file whose rows were imported before is refused, since the "
        "same usage imported twice is billed twice: tick this only if it is new usage.",
    )

    def __init__(self, *args, kinds: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, KIND_LABELS[kind]) for kind in kinds]
        if len(kinds) == 1:
            self.fields["kind"].initial = kinds[0]


# -- amendments (DESIGN §9) ---------------------------------------------------------------------

TIERS_HELP = (
    'A JSON list, e.g. [{"up_to": 100, "unit_price": "0.10", "flat_price": "0"}, '
    '{"up_to": null, "unit_price": "0.08", "flat_price": "0"}]; the last tier is open.'
)
TIERS_WIDGET = forms.Textarea(attrs={"rows": 4, "class": "font-monospace", "spellcheck": "false"})


def plain(value: Decimal) -> str:
    """A stored decimal as typed: 30.5, not 30.500000 (nor 3.05E+1)."""
    return format(Decimal(value).normalize(), "f")


def effective_date_field(label: str, help_text: str) -> forms.DateField:
    return forms.DateField(widget=DATE_INPUT, label=label, help_text=help_text)


class TiersField(forms.CharField):
    """Tiers typed as JSON. Numbers stay strings ("0.10"), never floats: money is never a float.
    Empty is an empty list; which tiers a charge model accepts is the model's rule."""

    widget = TIERS_WIDGET

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", TIERS_HELP)
        super().__init__(strip=True, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return json.dumps(value, indent=1) if value else ""
        return value

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return []
        try:
            return load_tiers(text)
        except InvalidTiers as error:
            raise forms.ValidationError(str(error)) from None


class CancelSubscriptionForm(forms.Form):
    cancel_date = effective_date_field(
        "Cancel from",
        "The first day without service: running charges end the day before.",
    )


class RemoveChargeForm(forms.Form):
    effective_date = effective_date_field(
        "Remove from", "The first day without this charge: it ends the day before."
    )


class ChangeChargeForm(forms.Form):
    """New terms for a charge. Only the terms its model rates with are asked: a flat fee's price,
    a per-unit price and quantity, tiered and volume tiers and quantity (usage takes its quantity
    from the usage records). A field left as it is changes nothing."""

    effective_date = effective_date_field(
        "Effective date", "The first day of the new terms; the current ones serve the day before."
    )
    price = forms.DecimalField(**PRICE, required=False)
    quantity = forms.DecimalField(**PRICE, required=False)
    tiers = TiersField()

    def __init__(self, *args, charge: Charge, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "price": plain(charge.price),
                "quantity": plain(charge.quantity),
                "tiers": charge.tiers,
            },
        )
        super().__init__(*args, **kwargs)
        model = Charge.ChargeModel
        tiered = charge.charge_model in (model.TIERED, model.VOLUME)
        if tiered:
            del self.fields["price"]
        else:
            del self.fields["tiers"]
        if charge.charge_model == model.FLAT_FEE or charge.charge_type == Charge.ChargeType.USAGE:
            del self.fields["quantity"]

    def clean_tiers(self):
        tiers = self.cleaned_data["tiers"]
        if tiers:
            try:
                parse_tiers(tiers)
            except InvalidTiers as error:
                raise forms.ValidationError(str(error)) from None
        return tiers

    def new_terms(self) -> dict:
        """The terms to give change_charge: those the form asks, blank ones left unchanged."""
        terms = {}
        for name in ("price", "quantity", "tiers"):
            value = self.cleaned_data.get(name)
            if name in self.fields and value not in (None, []):
                terms[name] = value
        return terms


class AddChargeForm(forms.ModelForm):
    """A new charge; the model's own rules (tiers of the model, a period for recurring and usage
    charges, usage in arrears) show on the field they are about."""

    tiers = TiersField()

    class Meta:
        model = Charge
        fields = (
            "name",
            "charge_type",
            "charge_model",
            "price",
            "quantity",
            "tiers",
            "uom",
            "billing_period",
            "billing_timing",
            "effective_start",
            "effective_end",
        )
        widgets = {"effective_start": DATE_INPUT, "effective_end": DATE_INPUT}
        help_texts = {
            "price": "Per period (flat fee) or per unit (per unit); unused by tiered and volume.",
            "billing_period": "Required for recurring and usage charges.",
            "billing_timing": "Usage is always billed in arrears.",
            "effective_start": "The first day it bills.",
            "effective_end": "The last day it bills; empty while it runs.",
        }

    PRICED_MODELS = (Charge.ChargeModel.FLAT_FEE, Charge.ChargeModel.PER_UNIT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Not prefilled: a flat fee left at the model's default of 0 would bill nothing.
        self.fields["price"].required = False
        self.fields["price"].initial = None
        self.initial.pop("price", None)
        self.initial["quantity"] = plain(self.instance.quantity)
        self.fields["quantity"].required = False

    def clean_price(self):
        price = self.cleaned_data["price"]
        if price is None:
            # charge_model comes before price in the fields, so it is already cleaned.
            if self.cleaned_data.get("charge_model") in self.PRICED_MODELS:
                raise forms.ValidationError("Flat fee and per unit charges need a price.")
            return Decimal(0)
        return price

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        return Decimal(1) if quantity is None else quantity

    # The model's check constraints, said in its own words on the field to fix (as the import
    # does) rather than above the form.
    CONSTRAINT_FIELDS = {
        "charge_period_when_recurring_or_usage": "billing_period",
        "charge_usage_not_flat_fee": "charge_model",
        "charge_effective_ordered": "effective_end",
    }

    def clean(self):
        cleaned = super().clean()
        charge_type, model = cleaned.get("charge_type"), cleaned.get("charge_model")
        start, end = cleaned.get("effective_start"), cleaned.get("effective_end")
        broken = {
            "charge_period_when_recurring_or_usage": charge_type
            in (Charge.ChargeType.RECURRING, Charge.ChargeType.USAGE)
            and not cleaned.get("billing_period"),
            "charge_usage_not_flat_fee": charge_type == Charge.ChargeType.USAGE
            and model == Charge.ChargeModel.FLAT_FEE,
            "charge_effective_ordered": bool(start and end and end < start),
        }
        constraints = {constraint.name: constraint for constraint in Charge._meta.constraints}
        for name, field in self.CONSTRAINT_FIELDS.items():
            if broken[name]:
                self.add_error(field, constraints[name].violation_error_message)
        return cleaned

    def charge_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
