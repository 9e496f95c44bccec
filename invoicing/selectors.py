"""Reads for the Documents pages and the PDF: a fixed number of queries whatever the data size."""

from invoicing.models import BillingDocument, DocumentLine

LIST_FIELDS = (
    "number",
    "kind",
    "status",
    "currency",
    "document_date",
    "due_date",
    "amount",
    "account__number",
    "account__name",
    "bill_run__number",
)
LINE_FIELDS = (
    "document_id",
    "charge_type",
    "description",
    "service_start",
    "service_end",
    "quantity",
    "unit_price",
    "amount",
)


def document_list():
    return BillingDocument.objects.select_related("account", "bill_run").only(*LIST_FIELDS)


def document_detail():
    return BillingDocument.objects.select_related("account", "bill_run", "posted_by")


def document_lines(*, document_ids):
    """Lines in id order: the order the bill run wrote them, and the order the
    (document_id) index already holds them in, so no sort is needed. A credit line brings the
    number of the document that billed the line it credits, in the same query."""
    return (
        DocumentLine.objects.filter(document_id__in=document_ids)
        .select_related("credits__document")
        .only(*LINE_FIELDS, "credits__document__number")
        .order_by("document_id", "id")
    )
