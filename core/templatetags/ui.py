"""Small pieces every page shares: status badges, sortable column headers."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Stored status value → Bootstrap badge colour; statuses share a colour across models, so an
# operator reads "green = done" the same on runs, documents and accounts.
BADGE_COLOURS = {
    "Pending": "secondary",
    "Processing": "info",
    "Completed": "success",
    "Error": "danger",
    "CancelInProgress": "warning",
    "PostInProgress": "warning",
    "Canceled": "dark",
    "Posted": "primary",
    "Draft": "secondary",
    "Active": "success",
    "Billed": "primary",
    "Running": "info",
    "Done": "success",
    "Failed": "danger",
}


@register.simple_tag
def status_badge(value: str, label: str = "") -> str:
    colour = BADGE_COLOURS.get(value, "secondary")
    return format_html(
        '<span class="badge text-bg-{} status-badge" data-status="{}">{}</span>',
        colour,
        value,
        label or value,
    )


@register.simple_tag(takes_context=True)
def sort_link(context, field: str, label: str, param: str = "o") -> str:
    """A column header that sorts by `field`, and by `-field` when it already does."""
    request = context["request"]
    current = request.GET.get(param, "")
    descending = current == f"-{field}"
    ascending = current == field
    query = request.GET.copy()
    query[param] = field if descending or not ascending else f"-{field}"
    query.pop("page", None)
    icon = ""
    if ascending:
        icon = mark_safe('<i class="bi bi-caret-up-fill ms-1" aria-hidden="true"></i>')
    elif descending:
        icon = mark_safe('<i class="bi bi-caret-down-fill ms-1" aria-hidden="true"></i>')
    sort = "ascending" if ascending else "descending" if descending else "none"
    return format_html(
        '<a class="link-body-emphasis text-decoration-none" href="?{}" aria-sort="{}">{}{}</a>',
        query.urlencode(),
        sort,
        label,
        icon,
    )


@register.simple_tag(takes_context=True)
def page_url(context, param: str, number: int, anchor: str = "") -> str:
    """This page with `param` (the page parameter of one paginated section) set to `number`,
    every other parameter kept (filters, sort, the other sections' pages)."""
    query = context["request"].GET.copy()
    query[param or "page"] = number
    return f"?{query.urlencode()}{f'#{anchor}' if anchor else ''}"
