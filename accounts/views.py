"""The accounts pages: a filtered list, one account's page with its amendment forms (cancel a
subscription, change, remove or add a charge), the bill run form's autocomplete, and the CSV
import of accounts and usage."""

import io
from collections.abc import Callable
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts import imports, selectors, services
from accounts.filters import AccountFilter
from accounts.forms import (
    AGAIN_LABEL,
    KIND_LABELS,
    AddChargeForm,
    CancelSubscriptionForm,
    ChangeChargeForm,
    ImportForm,
    RemoveChargeForm,
)
from accounts.models import Account, Charge
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
                today=timezone.localdate(),
                subscriptions_page=request.GET.get("subscriptions_page"),
                usage_page=request.GET.get("usage_page"),
                history_page=request.GET.get("history_page"),
            ),
            "account": account,
            "bill_url": _bill_url(request, account),
        },
    )


# -- amendments (DESIGN §9) ---------------------------------------------------------------------
#
# Each page is a small form: GET shows it, POST calls one lifecycle service. A POST from the
# form's "Show what the next run does" button (`preview`) only checks the fields and shows what
# the next bill run will credit back; it writes nothing. The account is matched as `account__pk`,
# not `account_id`: only the former knows an id beyond the column's range matches nothing (a
# 404, not an OverflowError).

PREVIEW = "preview"


def _data(request):
    return request.POST if request.method == "POST" else None


def _amendment_page(
    request,
    *,
    form: forms.BaseForm,
    account: Account,
    act: Callable[[dict], object],
    done: Callable[[object], str],
    context: Callable[[], dict],
    credits: Callable[[dict], list] | None = None,
):
    """Act on a valid POST (the service's refusal shows above the form; success goes back to
    the account page with a message), or render the form, with the credits the next run would
    write when a preview was asked and the fields parse. `context` is read only to render."""
    previewing = credits is not None and PREVIEW in request.POST
    if form.is_bound and form.is_valid() and not previewing:
        try:
            result = act(form.cleaned_data)
        except services.AmendmentError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, done(result))
            return redirect(f"{account.get_absolute_url()}#subscriptions")
    shown_credits = credits(form.cleaned_data) if previewing and form.is_valid() else None
    return render(
        request,
        "accounts/amendment_form.html",
        {
            "form": form,
            "account": account,
            "previews": credits is not None,
            "credits": shown_credits,
            **context(),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("accounts.change_subscription", raise_exception=True)
def cancel_subscription_view(request, pk, subscription_pk):
    subscription = get_object_or_404(selectors.subscriptions(), pk=subscription_pk, account__pk=pk)
    form = CancelSubscriptionForm(_data(request))
    return _amendment_page(
        request,
        form=form,
        account=subscription.account,
        act=lambda data: services.cancel_subscription(
            subscription=subscription, cancel_date=data["cancel_date"], acting_user=request.user
        ),
        done=lambda canceled: f"{canceled} canceled from {canceled.canceled_on:%Y-%m-%d}.",
        credits=lambda data: selectors.cancellation_credits(
            subscription=subscription, cancel_date=data["cancel_date"]
        ),
        context=lambda: {
            "title": f"Cancel subscription {subscription}",
            "subscription": subscription,
            "charges": selectors.subscription_charges(subscription=subscription),
            "submit": "Cancel the subscription",
            "submit_style": "danger",
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("accounts.change_charge", raise_exception=True)
def change_charge_view(request, pk, charge_pk):
    charge = get_object_or_404(selectors.charges(), pk=charge_pk, account__pk=pk)
    form = ChangeChargeForm(_data(request), charge=charge)

    def done(carrier: Charge) -> str:
        date = f"{carrier.effective_start:%Y-%m-%d}"
        if carrier.pk == charge.pk:
            return f"{charge.number} changed from {date} (it had billed nothing yet)."
        return f"{charge.number} changed from {date}: {carrier.number} carries the new terms."

    return _amendment_page(
        request,
        form=form,
        account=charge.account,
        act=lambda data: services.change_charge(
            charge=charge,
            effective_date=data["effective_date"],
            acting_user=request.user,
            **form.new_terms(),
        ),
        done=done,
        credits=lambda data: selectors.credits_after(
            charges=[charge], first_day=data["effective_date"]
        ),
        context=lambda: {
            "title": f"Change {charge.number} {charge.name}",
            "subscription": charge.subscription,
            "charges": [charge],
            "submit": "Change the charge",
            "successor_note": True,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("accounts.change_charge", raise_exception=True)
def remove_charge_view(request, pk, charge_pk):
    charge = get_object_or_404(selectors.charges(), pk=charge_pk, account__pk=pk)
    form = RemoveChargeForm(_data(request))
    return _amendment_page(
        request,
        form=form,
        account=charge.account,
        act=lambda data: services.remove_charge(
            charge=charge, effective_date=data["effective_date"], acting_user=request.user
        ),
        done=lambda removed: (
            f"{removed.number} removed: it ends on {removed.effective_end:%Y-%m-%d}."
        ),
        credits=lambda data: selectors.credits_after(
            charges=[charge], first_day=data["effective_date"]
        ),
        context=lambda: {
            "title": f"Remove {charge.number} {charge.name}",
            "subscription": charge.subscription,
            "charges": [charge],
            "submit": "Remove the charge",
            "submit_style": "danger",
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("accounts.add_charge", raise_exception=True)
def add_charge_view(request, pk, subscription_pk):
    subscription = get_object_or_404(selectors.subscriptions(), pk=subscription_pk, account__pk=pk)
    form = AddChargeForm(
        _data(request),
        instance=Charge(subscription=subscription, account=subscription.account),
        initial={"effective_start": timezone.localdate()},
    )
    return _amendment_page(
        request,
        form=form,
        account=subscription.account,
        act=lambda data: services.add_charge(
            subscription=subscription, acting_user=request.user, **form.charge_fields()
        ),
        done=lambda added: f"{added.number} {added.name} added to {subscription}.",
        context=lambda: {
            "title": f"Add a charge to {subscription}",
            "subscription": subscription,
            "charges": selectors.subscription_charges(subscription=subscription),
            "submit": "Add the charge",
            "wide": True,
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
            kind = form.cleaned_data["kind"]
            options = {"write_valid": form.cleaned_data["write_valid"]}
            if kind == imports.USAGE:
                options |= {"again": form.cleaned_data["again"], "acting_user": request.user}
            try:
                result = imports.IMPORTERS[kind](stream, file_name=upload.name, **options)
            except imports.RepeatedFileError as error:
                form.add_error("file", f"{error} If it is new usage, tick “{AGAIN_LABEL}”.")
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
        "accounts": selectors.account_links(result.account_numbers),
        "more_accounts": result.more_accounts,
        "source": result.source,
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
