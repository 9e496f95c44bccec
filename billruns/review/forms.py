"""The Review tab's threshold form."""

from decimal import Decimal

from django import forms

from billruns.review.services import MAX_THRESHOLD


class ReviewThresholdForm(forms.Form):
    threshold_percent = forms.DecimalField(
        label="Threshold (%)",
        min_value=Decimal(0),
        max_value=MAX_THRESHOLD,
        max_digits=7,
        decimal_places=2,
        help_text="Flag a document whose amount moved by more than this percentage.",
        widget=forms.NumberInput(
            attrs={"class": "form-control form-control-sm narrow-number", "step": "0.01"}
        ),
    )
