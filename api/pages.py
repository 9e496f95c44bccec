"""The user's own API tokens page: make one (its key shown once), see when each was last used,
revoke one. Every signed-in user may hold tokens: a token acts with its user's permissions."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api import services
from api.forms import TokenForm
from api.models import ApiToken
from core.errors import DomainError


@never_cache  # the new key is on this page once; Back must not show it again
def tokens_view(request):
    new_key = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                token, new_key = services.api_token_create(
                    user=request.user, name=form.cleaned_data["name"]
                )
            except DomainError as error:
                form.add_error("name", str(error))
            else:
                messages.success(request, f"Token “{token.name}” created.")
                form = TokenForm()
    else:
        form = TokenForm()
    return render(
        request,
        "api/token_list.html",
        {
            "form": form,
            "new_key": new_key,
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
