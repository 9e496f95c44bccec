"""The accounts pages: a filtered list, one account's page, the bill run form's autocomplete,
and the CSV import of accounts and usage."""

import io
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts import imports, selectors
from accounts.filters import AccountFilter
from accounts.forms import KIND_LABELS, ImportForm
from accounts.models import Account
from core.paging import paginate

# An accounts file creates subscriptions and charges too, so it needs the right to add all three.
IMPORT_PERMISSIONS = {
    imports.ACCOUNTS: ("accounts.add_account", "accounts.add_subscription", "accounts.add_charge"),
    imports.USAGE: ("accounts.add_usagerecord",),
}
ERRORS_SHOWN = 500
IMPORT_RESULT_KEY = "accounts_import_result"


@require_GET
@permission_required("accounts.view_account", raise_exception=True)
def list_view(request):
    filterset = AccountFilter(request.GET, queryset=selectors.account_list())
    page_obj = paginate(request, filterset.qs)
    # Only an empty page asks whether there are accounts at all, to say what to do next.
    any_accounts = bool(page_obj.object_list) or (
        filterset.is_filtering and selectors.any_account()
    )
    return render(
        request,
        "accounts/account_list.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "any_accounts": any_accounts,
            "can_import": bool(importable_kinds(request.user)),
        },
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
    if not account.is_billable or not request.user.has_perm("billruns.add_billrun"):
        return None
    return f"{reverse('billruns:create')}?{urlencode({'account': account.number})}"


def importable_kinds(user) -> list[str]:
    return [kind for kind in imports.KINDS if user.has_perms(IMPORT_PERMISSIONS[kind])]


@require_http_methods(["GET", "POST"])
def import_view(request):
    kinds = importable_kinds(request.user)
    if not kinds:
        raise PermissionDenied
    shown = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, kinds=kinds)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            stream = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
            try:
                result = imports.IMPORTERS[form.cleaned_data["kind"]](
                    stream, file_name=upload.name, write_valid=form.cleaned_data["write_valid"]
                )
            except imports.ImportFileError as error:
                form.add_error("file", str(error))
            else:
                shown = _shown_result(result)
                if result.written:
                    # Reloading a page that imported would import the file a second time:
                    # show what was written on the page this redirects to instead.
                    request.session[IMPORT_RESULT_KEY] = shown
                    return redirect("accounts:import")
            finally:
                stream.detach()  # the upload closes its own file
    else:
        shown = request.session.pop(IMPORT_RESULT_KEY, None)
        form = ImportForm(kinds=kinds, initial={"kind": shown["kind"]} if shown else None)
    return render(
        request,
        "accounts/import.html",
        {
            "form": form,
            "result": shown,
            "references": [(kind, KIND_LABELS[kind], imports.COLUMNS[kind]) for kind in kinds],
        },
    )


def _shown_result(result: imports.ImportResult) -> dict:
    """What the page shows of a result, as plain data that fits in the session."""
    errors = result.errors[:ERRORS_SHOWN]
    return {
        "kind": result.kind,
        "file_name": result.file_name,
        "write_valid": result.write_valid,
        "rows_read": result.rows_read,
        "rows_valid": result.rows_valid,
        "rows_written": result.rows_written,
        "bad_rows": result.bad_rows,
        "written": result.written,
        "created": result.created_text(),
        "error_count": result.error_count,
        "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in errors],
        "errors_not_shown": result.error_count - len(errors),
    }


@require_GET
def import_template_view(request, kind):
    if kind not in imports.KINDS:
        raise Http404("No such import template.")
    if not request.user.has_perms(IMPORT_PERMISSIONS[kind]):
        raise PermissionDenied
    response = HttpResponse(imports.template_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-import-template.csv"'
    return response
