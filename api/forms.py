from django import forms

from api.services import NAME_LENGTH


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_LENGTH,
        label="Token name",
        help_text="What uses it, e.g. “CRM sync” or “metering pipeline”.",
    )
