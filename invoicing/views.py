"""The Documents pages: list, detail, PDF, and posting one document."""

from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.paging import paginate
from core.views import action_view
from invoicing import pdf_files, selectors, services
from invoicing.filters import DocumentFilter
from invoicing.models import BillingDocument, StoredPdf
from invoicing.pdf import as_download

LINES_PER_PAGE = 100


@require_GET
@permission_required("invoicing.view_billingdocument", raise_exception=True)
def list_view(request):
    documents = DocumentFilter(request.GET, queryset=selectors.document_list())
    page = paginate(request, documents.qs)
    return render(
        request,
        "invoicing/document_list.html",
        {
            "filter": documents,
            "page_obj": page,
            "is_filtering": documents.is_filtering,
            "totals": selectors.document_totals(documents.qs) if page.paginator.count else [],
        },
    )


@require_GET
@permission_required("invoicing.view_billingdocument", raise_exception=True)
def detail_view(request, pk):
    document = get_object_or_404(selectors.document_detail(), pk=pk)
    lines = selectors.document_page_lines(document=document)
    return render(
        request,
        "invoicing/document_detail.html",
        {
            "document": document,
            "account": document.account,
            "page_obj": paginate(request, lines, per_page=LINES_PER_PAGE),
            "is_credit_memo": document.is_credit_memo,
            # A run's drafts are posted one by one only once the run allows it (the service
            # refuses otherwise; the button is not offered).
            "can_post": services.can_post(document),
            "can_unpost": services.can_unpost(document),
        },
    )


def _found(call, *args, **kwargs):
    """A pdf_files call; a document deleted meanwhile (its run deleted) is not found."""
    try:
        return call(*args, **kwargs)
    except BillingDocument.DoesNotExist:
        raise Http404("The document was deleted.") from None


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.view_billingdocument", raise_exception=True)
def pdf_view(request, pk):
    """The PDF: drawn here for a short document; for a long one, the stored file once a worker
    has drawn it, and until then a page that says so (POST: try a failed drawing again)."""
    document = get_object_or_404(selectors.document_detail(), pk=pk)
    retry = request.method == "POST"
    pdf = _found(pdf_files.document_pdf, document, retry=retry)
    if pdf.stored is not None and retry:
        return redirect("invoicing:pdf", pk=document.pk)
    if pdf.content is not None:
        return as_download(document, pdf.content)
    return render(
        request,
        "invoicing/document_pdf_status.html",
        {"document": document, "stored": pdf.stored, "line_count": pdf.line_count},
    )


@require_GET
@permission_required("invoicing.view_billingdocument", raise_exception=True)
def pdf_status_view(request, pk):
    """The preparing page's status, polled by htmx until the file is ready or failed."""
    document = get_object_or_404(selectors.document_detail(), pk=pk)
    line_count = document.lines.count()
    if pdf_files.rendered_by_worker(line_count):
        stored = _found(pdf_files.request_pdf, document=document, line_count=line_count)
    else:  # drawn on request: always ready, nothing to store
        stored = StoredPdf(document=document, status=StoredPdf.Status.READY)
    return render(
        request,
        "invoicing/includes/pdf_status.html",
        {"document": document, "stored": stored, "line_count": line_count},
    )


def _document_action(act, done: str, *, last_of_run: str = ""):
    """Post or unpost from the document's page: one service call, its result as a message;
    `last_of_run` instead when the document's run became Posted with it (its last draft)."""

    def report(document, result):
        run = result.bill_run
        if last_of_run and run is not None and run.status == run.Status.POSTED:
            return last_of_run.format(document=document, run=run.number), document
        return done.format(document=document), document

    return action_view(
        model=BillingDocument,
        permission="invoicing.post_billingdocument",
        act=lambda document, user: act(document=document, acting_user=user),
        done=report,
    )


post_view = _document_action(
    services.post_document,
    "{document} posted.",
    last_of_run="{document} posted: it was the last draft of {run}, which is now Posted.",
)
unpost_view = _document_action(services.unpost_document, "{document} set back to Draft.")
