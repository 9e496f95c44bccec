"""The Review tab's own requests: changing the run's threshold, the export, and the poll of a
review being prepared. The tab itself is part of the run's page (billruns.views.detail_view)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from billruns.exports import files
from billruns.models import BillRun
from billruns.review import export, selectors, services
from billruns.review.forms import ReviewThresholdForm
from core.errors import DomainError

FORMATS = ("csv", "xlsx")


def _review_tab(run: BillRun) -> str:
    return f"{reverse('billruns:detail', args=[run.pk])}?tab=review"


@require_POST
@permission_required("billruns.add_billrun", raise_exception=True)
def threshold_view(request, pk):
    run = get_object_or_404(BillRun.objects.only("number", "review_threshold_percent"), pk=pk)
    form = ReviewThresholdForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, f"Threshold not changed: {' '.join(errors)}")
        return redirect(_review_tab(run))
    percent = form.cleaned_data["threshold_percent"]
    try:
        services.set_review_threshold(run=run, percent=percent, acting_user=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{run.number} now flags changes above {percent:f} %.")
    return redirect(_review_tab(run))


@require_GET
@never_cache
@permission_required(
    ["billruns.view_billrun", "invoicing.view_billingdocument"], raise_exception=True
)
def export_view(request, pk):
    """?format=csv|xlsx, and the tab's sort (`o`)."""
    run = get_object_or_404(BillRun, pk=pk)
    export_format = request.GET.get("format", "csv")
    if export_format not in FORMATS:
        return _bad_request("Choose the export format: format=csv or format=xlsx.")
    if run.status not in selectors.REVIEW_STATUSES:
        return _bad_request("Only a Completed, Post in progress or Posted run has a review.")
    preparation = selectors.prepared_review(run)
    if not preparation.is_ready:
        return HttpResponse(
            "The review is being prepared: download it again in a minute.\n",
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    review = selectors.review_rows(run, sort=request.GET.get("o"), preparation=preparation)
    cells = export.rows(review, url=request.build_absolute_uri)
    filename = f"{run.number}-review.{export_format}"
    if export_format == "csv":
        lines = files.csv_lines(export.HEADER, cells)
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
    try:
        file = files.xlsx_file(export.HEADER, cells, title="Review")
    except files.ExportError as error:
        return _bad_request(str(error))
    return FileResponse(
        file, as_attachment=True, filename=filename, content_type=files.XLSX_CONTENT_TYPE
    )


@require_GET
@never_cache
@permission_required("billruns.view_billrun", raise_exception=True)
def preparing_view(request, pk):
    """What the tab polls while the review is being prepared: its progress, or once it is ready
    (or the run has no review any more), a refresh of the run's page."""
    run = get_object_or_404(BillRun, pk=pk)
    if run.status in selectors.REVIEW_STATUSES:
        preparation = selectors.prepared_review(run)
        if not preparation.is_ready:
            review = selectors.preparing_page(preparation, sort=request.GET.get("o"))
            context = {"run": run, "review": review}
            return render(request, "billruns/includes/tab_review.html", context)
    response = HttpResponse(status=204)
    response["HX-Refresh"] = "true"
    return response


def _bad_request(message: str) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(message + "\n", content_type="text/plain; charset=utf-8")
