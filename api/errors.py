"""One error shape for every refusal (DESIGN §10), after Zuora's:
`{"success": false, "reasons": [{"code": "...", "message": "...", "field": "..."}]}`.

Domain refusals are 4xx, never 500: an illegal transition is 409, any other `DomainError` 400.
"""

from django.core import exceptions as django_exceptions
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError, IllegalTransition


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the object's current status."
    default_code = "conflict"


def exception_handler(exc, context):
    if isinstance(exc, IllegalTransition):
        exc = Conflict(str(exc), code="illegal_transition")
    elif isinstance(exc, DomainError):
        exc = exceptions.ValidationError({"non_field_errors": [str(exc)]}, code="refused")
    elif isinstance(exc, django_exceptions.ValidationError):
        exc = exceptions.ValidationError(
            {"non_field_errors": [message for message in exc.messages]}, code="invalid"
        )
    elif isinstance(exc, Http404 | django_exceptions.ObjectDoesNotExist):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, IntegrityError):
        # A row the request refers to changed meanwhile (a charge deleted while its usage
        # came in): nothing was written; the same request again gets a definite answer.
        exc = Conflict(
            "The data changed while the request was handled; nothing was written. Send it again.",
            code="concurrent_change",
        )
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = failure(reasons(exc))
    return response


def refusals(*statuses: int) -> dict:
    """The error answers an endpoint documents in the schema (every one by default)."""
    from api.common import ErrorSerializer

    return {status: ErrorSerializer for status in statuses or (400, 401, 403, 404, 409, 429)}


def failure(reasons: list[dict]) -> dict:
    return {"success": False, "reasons": reasons}


def reasons(exc: exceptions.APIException) -> list[dict]:
    if isinstance(exc, exceptions.ValidationError):
        return list(_flatten(exc.get_full_details()))
    detail = exc.detail
    code = getattr(detail, "code", None) or exc.default_code
    return [{"code": str(code), "message": str(detail)}]


def _flatten(details, path: tuple[str, ...] = ()):
    """DRF's nested `{field: [{message, code}]}` (lists for many, dicts for nested) as flat
    reasons, each naming its field by a dotted path ("data.3.quantity")."""
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        field = ".".join(part for part in path if part != "non_field_errors")
        reason = {"code": str(details["code"]), "message": str(details["message"])}
        if field:
            reason["field"] = field
            reason["message"] = f"{field}: {reason['message']}"
        yield reason
    elif isinstance(details, dict):
        for key, value in details.items():
            yield from _flatten(value, (*path, str(key)))
    elif isinstance(details, list):
        for index, value in enumerate(details):
            one_error = isinstance(value, dict) and set(value) == {"message", "code"}
            yield from _flatten(value, path if one_error else (*path, str(index)))
