from django import forms

from api.services import NAME_LENGTH
from billruns.events import EVENTS


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_LENGTH,
        label="Token name",
        help_text="What uses it, e.g. “CRM sync” or “metering pipeline”.",
    )


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        label="URL",
        assume_scheme="https",
        help_text="Events are POSTed here as signed JSON.",
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENTS],
        widget=forms.CheckboxSelectMultiple,
        initial=list(EVENTS),
    )
