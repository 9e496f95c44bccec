"""The accounts list's filters and sort, built to stay fast at a million accounts."""

import django_filters
from django import forms
from django.db.models import Q
from django.db.models.functions import Length

from accounts.models import Account, Batch
from core.filtering import FilterSet, StableOrderingFilter


class AccountOrderingFilter(StableOrderingFilter):
    """Sorts by a column, then by id so that pages never overlap or skip rows.

    The id follows the column's direction, so SQLite walks the column's index (which ends in the
    rowid) instead of sorting. Batches sort as people count, Batch2 before Batch10.
    """

    def get_ordering_value(self, param):
        if self.param_map[param.lstrip("-")] != "batch":
            return super().get_ordering_value(param)
        length = Length("batch")
        descending = param.startswith("-")
        return [length.desc() if descending else length.asc(), param]


class AccountFilter(FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="search",
        help_text="Account number (or its start) or part of the name.",
    )
    status = django_filters.ChoiceFilter(choices=Account.Status.choices, empty_label="Any status")
    batch = django_filters.ChoiceFilter(choices=Batch.choices, empty_label="Any batch")
    bill_cycle_day = django_filters.ChoiceFilter(
        label="Bill cycle day",
        choices=[(day, str(day)) for day in range(1, 32)],
        empty_label="Any day",
    )
    currency = django_filters.CharFilter(
        label="Currency", method="filter_currency", help_text="ISO 4217 code, e.g. USD."
    )
    o = AccountOrderingFilter(
        fields=["number", "name", "bill_cycle_day", "batch", "currency"],
        widget=forms.HiddenInput,
    )

    class Meta:
        model = Account
        fields = ["q", "status", "batch", "bill_cycle_day", "currency"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # Numbers are stored upper-case (A00000001); a prefix covers the exact number too.
        return queryset.filter(Q(number__startswith=value.upper()) | Q(name__icontains=value))

    def filter_currency(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(currency=value.upper()) if value else queryset
