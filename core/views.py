"""What every app's views share: the POST-only action that calls one service."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from core.errors import DomainError


def action_view(
    *,
    model,
    permission: str,
    act: Callable[[object, object], object],
    done: Callable[[object, object], tuple[str, object]],
) -> Callable:
    """A POST-only view that calls one service on one object. The service's refusal comes back
    as an error message on the object's page; otherwise `done(obj, result)` gives the success
    message and where to go (anything `redirect` takes)."""

    @require_POST
    @permission_required(permission, raise_exception=True)
    def view(request, pk):
        obj = get_object_or_404(model, pk=pk)
        try:
            result = act(obj, request.user)
        except DomainError as error:
            messages.error(request, str(error))
            return redirect(obj)
        message, target = done(obj, result)
        messages.success(request, message)
        return redirect(target)

    return view
