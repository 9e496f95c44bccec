"""Pagination shared by every list page: a fixed page size, so a page costs the same at any size."""

from django.core.paginator import Page, Paginator

PER_PAGE = 50


def paginate(request, queryset, *, per_page: int = PER_PAGE, param: str = "page") -> Page:
    """The requested page; out-of-range or junk page numbers give the nearest real page."""
    return Paginator(queryset, per_page).get_page(request.GET.get(param))
