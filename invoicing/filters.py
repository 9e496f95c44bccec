"""The Documents list's filters and sort: every filter can use an index at a million documents."""

import django_filters
from django import forms
from django.db.models import Q

from accounts.models import Account
from core.filtering import DATE_INPUT, FilterSet, StableOrderingFilter
from invoicing.models import BillingDocument


class DocumentOrderingFilter(StableOrderingFilter):
    """Amounts of different currencies are never compared: sorting by amount sorts by currency
    first, then by amount within each currency, both in the chosen direction so that one
    direction is the other reversed (docs/decisions.md)."""

    def get_ordering_value(self, param: str) -> list:
        ordering = super().get_ordering_value(param)
        if self.param_map[param.lstrip("-")] == "amount":
            return [f"{'-' if param.startswith('-') else ''}currency", *ordering]
        return ordering


class DocumentFilter(FilterSet):
    kind = django_filters.ChoiceFilter(choices=BillingDocument.Kind.choices, empty_label="Any")
    status = django_filters.ChoiceFilter(choices=BillingDocument.Status.choices, empty_label="Any")
    currency = django_filters.CharFilter(
        method="filter_currency",
        label="Currency",
        widget=forms.TextInput(attrs={"placeholder": "e.g. USD", "maxlength": 3}),
    )
    date_from = django_filters.DateFilter(
        field_name="document_date", lookup_expr="gte", label="Document date from", widget=DATE_INPUT
    )
    date_to = django_filters.DateFilter(
        field_name="document_date", lookup_expr="lte", label="Document date to", widget=DATE_INPUT
    )
    bill_run = django_filters.CharFilter(
        method="filter_bill_run",
        label="Bill run",
        widget=forms.TextInput(attrs={"placeholder": "BR-00000001"}),
    )
    account = django_filters.CharFilter(
        method="filter_account",
        label="Account",
        widget=forms.TextInput(attrs={"placeholder": "Number or name"}),
    )
    o = DocumentOrderingFilter(
        fields=["number", "document_date", "amount", "due_date"],
        # Hidden: the column headers choose the sort, and filtering keeps it.
        widget=forms.HiddenInput,
    )

    class Meta:
        model = BillingDocument
        fields: list[str] = []

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper())

    def filter_bill_run(self, queryset, name, value):
        return queryset.filter(bill_run__number=value.strip().upper())

    def filter_account(self, queryset, name, value):
        value = value.strip()
        # A subquery on the (small) accounts table, so the documents side uses the
        # (account, document_date) index rather than scanning every document for the OR.
        accounts = Account.objects.filter(
            Q(number=value.upper()) | Q(name__icontains=value)
        ).values("id")
        return queryset.filter(account_id__in=accounts)
