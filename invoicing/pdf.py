"""A billing document as PDF (WeasyPrint), for download and for the emails after posting."""

from collections.abc import Iterable

from django.conf import settings
from django.template.loader import render_to_string

from invoicing.models import BillingDocument, DocumentLine
from invoicing.selectors import document_lines

TEMPLATE = "invoicing/document_pdf.html"


def render_document_html(
    document: BillingDocument, *, lines: Iterable[DocumentLine] | None = None
) -> str:
    if lines is None:
        lines = document_lines(document_ids=[document.pk])
    return render_to_string(
        TEMPLATE,
        {
            "document": document,
            "account": document.account,
            "lines": list(lines),
            "issuer_name": getattr(settings, "BILLCYCLE_ISSUER_NAME", "Billcycle"),
            "is_credit_memo": document.is_credit_memo,
            "title": "Credit memo"
            if document.kind == BillingDocument.Kind.CREDIT_MEMO
            else "Invoice",
        },
    )


def render_document_pdf(
    document: BillingDocument, *, lines: Iterable[DocumentLine] | None = None
) -> bytes:
    """The document as PDF bytes.

    `lines` lets a caller that renders many documents read all their lines in one query;
    without it the lines are read here, in one query ordered by id.
    """
    # Imported here: WeasyPrint takes over half a second to import and logs as it loads its
    # stylesheets, which every web worker and management command would otherwise pay.
    from weasyprint import HTML

    # The template is self-contained (inline CSS, system fonts, no images), so WeasyPrint has
    # nothing to fetch from the network or the filesystem.
    return HTML(string=render_document_html(document, lines=lines)).write_pdf()
