"""The import form: which kind of file, the file, and what to do with bad rows."""

from django import forms

from accounts import imports

KIND_LABELS = {
    imports.ACCOUNTS: "Accounts, with their subscriptions and charges",
    imports.USAGE: "Usage records",
}


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

    def __init__(self, *args, kinds: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, KIND_LABELS[kind]) for kind in kinds]
        if len(kinds) == 1:
            self.fields["kind"].initial = kinds[0]
