"""The request guards every page shares."""

from django.http import HttpResponseBadRequest
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

NUL = "\x00"


class RefuseNulMiddleware:
    """PostgreSQL refuses a NUL character in any text ("text fields cannot contain NUL"), and
    no field of Billcycle has a use for one. A request carrying one in its path, a query
    parameter or a form field gets a 400 page naming the parameter, before any view can pass it
    to a query; the API answers for itself, in its own error shape (it refuses NUL per field).
    A cookie holding one (the server never sets such a cookie) is ignored, as if not sent.
    Files are not read here: an import refuses a NUL in its file (accounts.imports.reading).

    It runs before the session middleware, so that a forged session cookie is dropped before
    anything looks its session up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name in [name for name, value in request.COOKIES.items() if NUL in name + value]:
            del request.COOKIES[name]
        where = nul_parameter(request)
        if where is not None and not _api(request.path_info):
            return HttpResponseBadRequest(
                render_to_string("core/refused_request.html", {"where": where}, request)
            )
        return self.get_response(request)


def nul_parameter(request) -> str | None:
    """What holds a NUL character: "the address", "the parameter 'q'", or None."""
    if NUL in request.path_info:
        return "the address"
    sources = [request.GET, request.POST] if request.method == "POST" else [request.GET]
    for data in sources:
        for name, values in data.lists():
            if NUL in name or any(NUL in value for value in values):
                return f"the parameter {name.replace(NUL, '')!r}"
    return None


def _api(path: str) -> bool:
    try:
        return resolve(path).namespace == "api"
    except Resolver404:
        return False
