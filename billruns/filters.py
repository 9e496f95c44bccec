from django import forms
from django.db.models import Q
from django_filters import BooleanFilter, CharFilter, ChoiceFilter, DateFilter

from billruns.models import BillRun
from core.filtering import DATE_INPUT, FilterSet, StableOrderingFilter


def date_filter(field_name: str, lookup_expr: str, label: str) -> DateFilter:
    return DateFilter(
        field_name=field_name,
        lookup_expr=lookup_expr,
        label=label,
        widget=DATE_INPUT,
    )


class BillRunFilter(FilterSet):
    q = CharFilter(method="search", label="Number or name")
    status = ChoiceFilter(choices=BillRun.Status.choices, empty_label="Any status")
    run_type = ChoiceFilter(choices=BillRun.RunType.choices, label="Type", empty_label="Any type")
    has_failures = BooleanFilter(
        method="filter_failures",
        label="Failures",
        widget=forms.Select(
            choices=[("", "With or without"), ("true", "With failures"), ("false", "None")]
        ),
    )
    created_after = date_filter("created_at", "date__gte", "Created from")
    created_before = date_filter("created_at", "date__lte", "Created until")
    target_after = date_filter("target_date", "gte", "Target date from")
    target_before = date_filter("target_date", "lte", "Target date until")
    o = StableOrderingFilter(
        fields=[
            "number",
            "name",
            "invoice_date",
            "target_date",
            "status",
            "number_of_accounts",
            "number_of_invoices",
            "number_of_credit_memos",
            "created_at",
        ],
        widget=forms.HiddenInput,
    )

    class Meta:
        model = BillRun
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(number__icontains=value) | Q(name__icontains=value))

    def filter_failures(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.filter(number_of_failures__gt=0)
            if value
            else queryset.filter(number_of_failures=0)
        )
