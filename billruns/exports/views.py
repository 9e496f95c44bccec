"""Downloads: the bill run list as CSV or XLSX (with the list page's filters and sort), and one
run's documents as CSV. What each column holds is documented in billruns/exports/rows.py."""

import datetime as dt

from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from billruns.exports import files, rows, selectors

FORMATS = ("csv", "xlsx")


def _bad_request(message: str) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(message + "\n", content_type="text/plain; charset=utf-8")


def _csv_response(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@require_GET
@never_cache
@permission_required("billruns.view_billrun", raise_exception=True)
def export_bill_runs(request):
    """?format=csv|xlsx plus the list page's own parameters (filters and `o`)."""
    export_format = request.GET.get("format")
    if export_format not in FORMATS:
        return _bad_request("Choose the export format: format=csv or format=xlsx.")
    try:
        runs = selectors.filtered_bill_runs(request.GET)
    except files.ExportError as error:
        return _bad_request(str(error))
    # The file is named after the moment of export, in UTC like the timestamps inside it.
    stamp = timezone.now().astimezone(dt.UTC)
    filename = f"bill-runs-{stamp:%Y%m%d-%H%M%S}.{export_format}"
    run_rows = rows.bill_run_rows(runs)
    if export_format == "csv":
        return _csv_response(files.csv_lines(rows.BILL_RUN_HEADER, run_rows), filename)
    # A workbook is a zip file, written whole before its first byte can be sent.
    try:
        file = files.xlsx_file(rows.BILL_RUN_HEADER, run_rows)
    except files.ExportError as error:
        return _bad_request(str(error))
    return FileResponse(
        file, as_attachment=True, filename=filename, content_type=files.XLSX_CONTENT_TYPE
    )


@require_GET
@never_cache
@permission_required(
    ["billruns.view_billrun", "invoicing.view_billingdocument"], raise_exception=True
)
def export_run_documents(request, pk):
    """The run's invoices and credit memos, by number."""
    run = get_object_or_404(selectors.bill_run_numbers(), pk=pk)
    documents = selectors.run_documents(run=run)
    lines = files.csv_lines(rows.DOCUMENT_HEADER, rows.document_rows(documents))
    return _csv_response(lines, f"{run.number}-documents.csv")
