"""What every list page's filters share: a stable sort, a date input, and "is it filtered?"."""

import django_filters
from django import forms
from django_filters.constants import EMPTY_VALUES

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorts by the chosen column, then by id in the same direction, so pages never repeat or
    skip a tied row (PostgreSQL gives ties no order). The same direction lets SQLite walk the
    column's index, which ends in the rowid, instead of sorting."""

    UNIQUE_FIELDS = frozenset({"id", "number"})

    def get_ordering_value(self, param: str) -> list:
        descending = param.startswith("-")
        field = self.param_map[param.lstrip("-")]
        sign = "-" if descending else ""
        return [f"{sign}{field}"]

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        ordering = []
        for param in value:
            ordering += self.get_ordering_value(param)
        last = value[-1]
        if self.param_map.get(last.lstrip("-")) not in self.UNIQUE_FIELDS:
            ordering.append(f"{'-' if last.startswith('-') else ''}id")
        return qs.order_by(*ordering)


class FilterSet(django_filters.FilterSet):
    @property
    def is_filtering(self) -> bool:
        """Whether any filter (not the sort or the page) has a value: an empty page then means
        'loosen the filters' rather than 'nothing here yet'."""
        return any(str(self.data.get(name, "")).strip() for name in self.filters if name != "o")
