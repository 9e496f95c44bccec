"""The API's pages: the user's own tokens (make one, its key shown once; see when each was last
used; revoke one; every signed-in user may hold tokens, which act with their permissions) and
the webhook endpoints (operators register, disable and remove them; every delivery with its
attempts is on the endpoint's page, and can be replayed)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api import services, webhooks
from api.forms import TokenForm, WebhookEndpointForm
from api.models import ApiToken, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.errors import DomainError

DELIVERIES_SHOWN = 50


NEW_KEY = "api_new_token_key"


@never_cache  # the new key is on this page once; Back must not show it again
def tokens_view(request):
    """Post, redirect, get: the new key rides in the session to the one page that shows it and
    is gone from there, so reloading neither shows it again nor makes another token."""
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                token, key = services.api_token_create(
                    user=request.user, name=form.cleaned_data["name"]
                )
            except DomainError as error:
                form.add_error("name", str(error))
            else:
                request.session[NEW_KEY] = key
                messages.success(request, f"Token “{token.name}” created.")
                return redirect("api_tokens")
    else:
        form = TokenForm()
    return render(
        request,
        "api/token_list.html",
        {
            "form": form,
            "new_key": request.session.pop(NEW_KEY, None),
            "tokens": ApiToken.objects.filter(user=request.user),
            "section": "tokens",
        },
    )


@require_POST
def revoke_view(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked: requests with it are refused.")
    return redirect("api_tokens")


# -- webhook endpoints (operators) ------------------------------------------------------------


@permission_required("api.view_webhookendpoint", raise_exception=True)
def webhooks_view(request):
    form = WebhookEndpointForm()
    if request.method == "POST":
        if not request.user.has_perm("api.add_webhookendpoint"):
            raise PermissionDenied
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint = webhooks.webhook_endpoint_create(
                    **form.cleaned_data, acting_user=request.user
                )
            except (DomainError, ValidationError) as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Endpoint {endpoint.url} registered.")
                return redirect(endpoint)
    can_change = request.user.has_perm("api.change_webhookendpoint")
    return render(
        request,
        "api/webhook_list.html",
        {
            "form": form,
            "endpoints": [
                (endpoint, endpoint.url if can_change else webhooks.display_url(endpoint.url))
                for endpoint in WebhookEndpoint.objects.all()
            ],
            "can_add": request.user.has_perm("api.add_webhookendpoint"),
            "section": "webhooks",
        },
    )


@permission_required("api.view_webhookendpoint", raise_exception=True)
def webhook_detail_view(request, pk):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    deliveries = list(endpoint.deliveries.all()[:DELIVERIES_SHOWN])
    attempts = WebhookAttempt.objects.filter(delivery__in=deliveries).order_by("at", "id")
    by_delivery: dict[int, list] = {}
    for attempt in attempts:
        by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
    can_change = request.user.has_perm("api.change_webhookendpoint")
    return render(
        request,
        "api/webhook_detail.html",
        {
            "endpoint": endpoint,
            "url": endpoint.url if can_change else webhooks.display_url(endpoint.url),
            "deliveries": [(d, by_delivery.get(d.pk, [])) for d in deliveries],
            "can_change": can_change,
            "can_delete": request.user.has_perm("api.delete_webhookendpoint"),
            "section": "webhooks",
        },
    )


@require_POST
@permission_required("api.change_webhookendpoint", raise_exception=True)
def webhook_toggle_view(request, pk):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    WebhookEndpoint.objects.filter(pk=pk).update(enabled=not endpoint.enabled)
    messages.success(request, f"{endpoint.url} {'disabled' if endpoint.enabled else 'enabled'}.")
    return redirect(endpoint)


@require_POST
@permission_required("api.delete_webhookendpoint", raise_exception=True)
def webhook_delete_view(request, pk):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    endpoint.delete()
    messages.success(request, f"{endpoint.url} removed with its deliveries.")
    return redirect("webhooks")


@require_POST
@permission_required("api.change_webhookendpoint", raise_exception=True)
def webhook_replay_view(request, pk):
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    try:
        webhooks.replay(delivery=delivery)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{delivery.event} queued again for {delivery.endpoint.url}.")
    return redirect(delivery.endpoint)
