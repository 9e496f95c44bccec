"""What every endpoint shares: the base view, lookups by id or number, cursor pages, and the
`"success": true` envelope of Zuora's responses."""

from django.contrib.auth.decorators import login_not_required
from rest_framework import exceptions, generics, metadata, pagination, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

# An id is a positive 64-bit integer; anything longer is not one (and would overflow SQL).
MAX_ID = 2**63 - 1
MAX_KEY_LENGTH = 64


class PlainMetadata(metadata.SimpleMetadata):
    """OPTIONS says what an endpoint is and speaks, not which fields each write takes (the
    schema does): DRF's default would look up an object our key-based views have no
    `get_object` for."""

    def determine_actions(self, request, view):
        return {}


class ApiView(generics.GenericAPIView):
    """An API endpoint: authenticated by token or session (not by the pages' login redirect),
    permissions per method in `perms` (api.permissions)."""

    perms: dict[str, tuple[str, ...]] = {}
    metadata_class = PlainMetadata

    @classmethod
    def as_view(cls, **initkwargs):
        # The pages' LoginRequiredMiddleware would redirect a token's request to the login
        # form; the API answers 401 itself.
        return login_not_required(super().as_view(**initkwargs))


class FileView(ApiView):
    """An endpoint that answers a file (a PDF, a CSV) built by the view itself. Its renderers
    let the file's `Accept` through negotiation; a refusal is still the JSON error shape, as
    JSON, whatever `Accept` asked for (rendered as the file's type it would be the dict's keys
    run together, labelled as a PDF)."""

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # the file itself is a plain HttpResponse
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def by_key(queryset, key: str, *, number_field: str | None = "number"):
    """The object whose id or number is `key` (DESIGN §10: `/bill-runs/1` or `/bill-runs/BR-…`);
    `number_field` None: objects known by id only."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise exceptions.NotFound(f"No such object: {key[:MAX_KEY_LENGTH]!r}.")
    if key.isascii() and key.isdigit():
        lookup = {"pk": int(key)} if int(key) <= MAX_ID else None
    else:
        lookup = {number_field: key} if number_field else None
    obj = queryset.filter(**lookup).first() if lookup else None
    if obj is None:
        raise exceptions.NotFound(f"No {queryset.model._meta.verbose_name} {key!r}.")
    return obj


def success(data: dict | None = None, *, status: int = 200) -> Response:
    return Response({"success": True, **(data or {})}, status=status)


class CursorPage(pagination.CursorPagination):
    """Newest first, a fixed cost per page at any size: `nextPage` is the URL of the next page
    (null at the end). `pageSize` from 1 to 1,000, default 100."""

    ordering = "-id"
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "pageSize"

    def decode_cursor(self, request):
        """DRF's, refusing a forged position: our ordering is by id, so a position is an id."""
        cursor = super().decode_cursor(request)
        position = cursor.position if cursor is not None else None
        if position is not None and not (
            position.isascii() and position.isdigit() and int(position) <= MAX_ID
        ):
            raise exceptions.NotFound(self.invalid_cursor_message)
        return cursor

    def get_paginated_response(self, data):
        return success(
            {
                "data": data,
                "nextPage": self.get_next_link(),
                "previousPage": self.get_previous_link(),
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["success", "data", "nextPage", "previousPage"],
            "properties": {
                "success": {"type": "boolean"},
                "data": schema,
                "nextPage": link,
                "previousPage": link,
            },
        }


class SuccessSerializer(serializers.Serializer):
    success = serializers.BooleanField()


class ErrorReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    reasons = ErrorReasonSerializer(many=True)
