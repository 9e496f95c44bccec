"""The preview pages: new (the new bill run form's *Preview*), list, a preview's page with its
progress, totals and failures, its CSV, and Cancel."""

import datetime as dt
import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from billruns import selectors
from billruns.forms import BillRunForm
from billruns.models import BillingPreviewRun
from billruns.preview import result
from billruns.preview import services as previews
from core.errors import DomainError
from core.paging import paginate

POLL_SECONDS = 2
VIEW = "billruns.view_billingpreviewrun"
ADD = "billruns.add_billingpreviewrun"


@never_cache
@permission_required(ADD, raise_exception=True)
def create_view(request):
    """GET: the new bill run form, to preview; POST (also the run form's *Preview* button):
    the preview, or the form again with what is wrong."""
    if request.method != "POST":
        form = BillRunForm(initial={"account": request.GET.get("account", "")})
        return render(request, "billruns/billrun_form.html", {"form": form, "preview_only": True})
    form = BillRunForm(request.POST)
    if form.is_valid():
        terms = form.run_terms()
        try:
            preview = previews.create_preview(
                terms=terms, acting_user=request.user, idempotency_key=_key(form, terms)
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            if getattr(preview, "just_created", False):
                messages.success(
                    request, f"{preview.number} is previewing what this run would bill."
                )
            return redirect(preview)
    preview_only = request.POST.get("preview_only") == "1"
    return render(
        request, "billruns/billrun_form.html", {"form": form, "preview_only": preview_only}
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def list_view(request):
    rows = BillingPreviewRun.objects.select_related("account", "created_by")
    return render(request, "billruns/preview_list.html", {"page_obj": paginate(request, rows)})


@require_GET
@permission_required(VIEW, raise_exception=True)
def detail_view(request, pk):
    preview = get_object_or_404(
        BillingPreviewRun.objects.select_related("account", "created_by"), pk=pk
    )
    failures = preview.failures.select_related("account", "subscription", "charge").order_by(
        "account_id", "id"
    )
    context = {
        "preview": preview,
        "progress": _progress(preview),
        "amounts": selectors.amount_rows(preview.amounts_by_currency),
        "page_obj": paginate(request, failures),
        "can_cancel": preview.is_live and request.user.has_perm(ADD),
        "can_create_run": preview.status == BillingPreviewRun.Status.COMPLETED
        and request.user.has_perm("billruns.add_billrun"),
        "has_result": _has_result(preview),
    }
    return render(request, "billruns/preview_detail.html", context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def progress_view(request, pk):
    """The fragment the preview's page polls; once it settles, the page reloads."""
    preview = BillingPreviewRun.objects.filter(pk=pk).first()
    if preview is None or not preview.is_live:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(
        request,
        "billruns/includes/preview_progress.html",
        {"preview": preview, "progress": _progress(preview)},
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def csv_view(request, pk):
    preview = get_object_or_404(BillingPreviewRun, pk=pk)
    if not _has_result(preview):
        messages.error(request, f"{preview.number} has no result to download yet.")
        return redirect(preview)
    response = StreamingHttpResponse(result.stream(preview), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{result.filename(preview)}"'
    return response


@require_POST
@permission_required(ADD, raise_exception=True)
def cancel_view(request, pk):
    preview = get_object_or_404(BillingPreviewRun, pk=pk)
    try:
        previews.cancel_preview(preview=preview)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{preview.number} canceled.")
    return redirect(preview)


def _key(form: BillRunForm, terms) -> str | None:
    """The form's key with its terms: a double click previews once, and terms changed after
    Back (the form keeps its key) make a new preview instead of showing the old one."""
    key = form.cleaned_data["idempotency_key"]
    if not key:
        return None
    fields = terms.model_fields()
    fields["account"] = terms.account.pk if terms.account else None
    digest = hashlib.sha256(repr(sorted(fields.items())).encode()).hexdigest()[:16]
    return f"form:{key}:{digest}"


def _has_result(preview: BillingPreviewRun) -> bool:
    return preview.status in (BillingPreviewRun.Status.COMPLETED, BillingPreviewRun.Status.ERROR)


def _progress(preview: BillingPreviewRun) -> dict:
    done, total = preview.chunks_done, preview.chunks_total
    now = timezone.now()
    return {
        "percent": int(done * 100 / total) if total else 0,
        "chunks_done": done,
        "chunks_total": total,
        "poll_seconds": POLL_SECONDS,
        "waiting_for_worker": preview.status == BillingPreviewRun.Status.PENDING
        and now - preview.created_at > dt.timedelta(seconds=30),
        "url": reverse("billruns:preview_progress", args=[preview.pk]),
    }
