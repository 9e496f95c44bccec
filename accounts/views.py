"""The accounts pages: a filtered list, one account's page, and the bill run form's autocomplete."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from accounts import selectors
from accounts.filters import AccountFilter
from accounts.models import Account
from billing_project.paging import paginate


@require_GET
@permission_required("accounts.view_account", raise_exception=True)
def list_view(request):
    filterset = AccountFilter(request.GET, queryset=selectors.account_list())
    page_obj = paginate(request, filterset.qs)
    # Only an empty page asks whether there are accounts at all, to say what to do next.
    any_accounts = bool(page_obj.object_list) or (
        filterset.is_filtering and Account.objects.exists()
    )
    return render(
        request,
        "accounts/account_list.html",
        {"filter": filterset, "page_obj": page_obj, "any_accounts": any_accounts},
    )


@require_GET
@permission_required("accounts.view_account", raise_exception=True)
def detail_view(request, pk):
    account = get_object_or_404(Account, pk=pk)
    return render(
        request,
        "accounts/account_detail.html",
        {
            "detail": selectors.account_detail(
                account=account,
                subscriptions_page=request.GET.get("subscriptions_page"),
                usage_page=request.GET.get("usage_page"),
            ),
            "account": account,
            "bill_url": _bill_url(request, account),
        },
    )


@require_GET
@permission_required("accounts.view_account", raise_exception=True)
def autocomplete_view(request):
    # `account` is what the form's own field sends; `q` for any other caller.
    query = request.GET.get("q") or request.GET.get("account", "")
    accounts = selectors.account_options(query=query)
    return render(request, "accounts/includes/account_options.html", {"accounts": accounts})


def _bill_url(request, account: Account) -> str | None:
    """The new bill run form for this account, for those who may bill it and when it is billable."""
    if account.status != Account.Status.ACTIVE or not request.user.has_perm("billruns.add_billrun"):
        return None
    try:
        url = reverse("billruns:create")
    except NoReverseMatch:  # the form's page is not installed yet: no button rather than a crash
        return None
    return f"{url}?{urlencode({'account': account.number})}"
