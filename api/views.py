"""What the API answers outside its endpoints."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse

from api.errors import failure


@login_not_required
def not_found(request, *args, **kwargs):
    """An unknown path under /api/v1/: the API's error shape, not the pages' 404."""
    return JsonResponse(
        failure([{"code": "not_found", "message": f"No endpoint {request.path}."}]), status=404
    )
