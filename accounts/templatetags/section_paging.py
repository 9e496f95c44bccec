"""Links for a page that paginates several sections, each under its own query parameter."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, param: str, number: int, anchor: str = "") -> str:
    """This page with `param` set to `number`, every other parameter (and section) kept."""
    query = context["request"].GET.copy()
    query[param] = number
    return f"?{query.urlencode()}{f'#{anchor}' if anchor else ''}"
