"""The Documents pages: list, detail, PDF, and posting one document."""

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from core.paging import paginate
from core.views import action_view
from invoicing import selectors, services
from invoicing.filters import DocumentFilter
from invoicing.models import BillingDocument
from invoicing.pdf import render_document_pdf

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


@require_GET
@permission_required("invoicing.view_billingdocument", raise_exception=True)
def pdf_view(request, pk):
    document = get_object_or_404(selectors.document_detail(), pk=pk)
    response = HttpResponse(render_document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.number or document.pk}.pdf"'
    return response


def _document_action(act, done: str):
    """Post or unpost from the document's page: one service call, its result as a message."""
    return action_view(
        model=BillingDocument,
        permission="invoicing.post_billingdocument",
        act=lambda document, user: act(document=document, acting_user=user),
        done=lambda document, _: (done.format(document=document), document),
    )


post_view = _document_action(services.post_document, "{document} posted.")
unpost_view = _document_action(services.unpost_document, "{document} set back to Draft.")
