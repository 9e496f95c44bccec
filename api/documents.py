"""`/api/v1/invoices` and `/api/v1/credit-memos`: billing documents with their lines, and their
PDF, filtered as on the Documents page (DESIGN §10)."""

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import renderers, serializers, status
from rest_framework.renderers import JSONRenderer

from api.common import ApiView, CursorPage, FileView, by_key, success
from api.errors import Conflict, refusals
from invoicing import pdf_files
from invoicing.filters import DocumentFilter
from invoicing.models import BillingDocument, DocumentLine, StoredPdf
from invoicing.pdf import as_download
from invoicing.selectors import document_detail, document_lines

KEY = OpenApiParameter(
    "key", str, OpenApiParameter.PATH, description="The id or number (INV… / CM…)."
)


class PdfRenderer(renderers.BaseRenderer):
    """Lets `Accept: application/pdf` through content negotiation; the view answers the PDF
    itself."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class ApiDocumentFilter(DocumentFilter):
    kind = None  # the path says the kind
    o = None  # cursors: newest first


class DocumentLineSerializer(serializers.ModelSerializer):
    chargeId = serializers.IntegerField(source="charge_id")
    subscriptionId = serializers.IntegerField(source="subscription_id")
    chargeType = serializers.CharField(source="charge_type")
    serviceStartDate = serializers.DateField(source="service_start")
    serviceEndDate = serializers.DateField(source="service_end")
    unitPrice = serializers.DecimalField(source="unit_price", max_digits=20, decimal_places=6)
    creditsLineId = serializers.IntegerField(source="credits_id", allow_null=True)

    class Meta:
        model = DocumentLine
        fields = [
            "id", "chargeId", "subscriptionId", "chargeType", "description",
            "serviceStartDate", "serviceEndDate", "quantity", "unitPrice", "amount",
            "creditsLineId",
        ]  # fmt: skip


class DocumentSerializer(serializers.ModelSerializer):
    documentNumber = serializers.CharField(source="number", allow_null=True)
    accountNumber = serializers.CharField(source="account.number")
    billRunNumber = serializers.CharField(source="bill_run.number", default=None, allow_null=True)
    documentDate = serializers.DateField(source="document_date")
    targetDate = serializers.DateField(source="target_date", allow_null=True)
    dueDate = serializers.DateField(source="due_date")
    postedDate = serializers.DateTimeField(source="posted_at", allow_null=True)
    emailedDate = serializers.DateTimeField(source="emailed_at", allow_null=True)
    createdDate = serializers.DateTimeField(source="created_at")

    class Meta:
        model = BillingDocument
        fields = [
            "id", "documentNumber", "kind", "status", "accountNumber", "billRunNumber",
            "currency", "amount", "documentDate", "targetDate", "dueDate", "postedDate",
            "emailedDate", "createdDate",
        ]  # fmt: skip


class DocumentDetailSerializer(DocumentSerializer):
    lines = serializers.SerializerMethodField()

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "lines"]

    def get_lines(self, document) -> list[dict]:
        return DocumentLineSerializer(document_lines(document_ids=[document.pk]), many=True).data


# How long a client should wait before asking again for a PDF being drawn.
RETRY_AFTER_SECONDS = 5
PREPARING = inline_serializer(
    "PdfPreparing",
    {
        "success": serializers.BooleanField(),
        "status": serializers.ChoiceField(choices=["Pending", "Rendering"]),
        "message": serializers.CharField(),
    },
)


def _pdf_answer(document, *, retry: bool = False):
    """The PDF, drawn here for a short document; for a long one the stored file, or 202 with
    Retry-After while a worker draws it, or 409 if the drawing failed (POST tries again)."""
    pdf = pdf_files.document_pdf(document, retry=retry)
    if pdf.content is not None:
        return as_download(document, pdf.content)
    if pdf.stored.status == StoredPdf.Status.FAILED:
        raise Conflict(
            f"The PDF of {document} could not be drawn: {pdf.stored.error} "
            "POST to this address to try again.",
            code="pdf_failed",
        )
    response = JsonResponse(
        {
            "success": True,
            "status": pdf.stored.status,
            "message": f"The PDF of {document} ({pdf.line_count:,} lines) is being drawn; "
            f"ask again in {RETRY_AFTER_SECONDS} seconds.",
        },
        status=status.HTTP_202_ACCEPTED,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _documents(kind: str):
    return BillingDocument.objects.filter(kind=kind).select_related("account", "bill_run")


def document_views(kind: str, name: str):
    """The list, detail and PDF endpoints of one kind of document."""
    tag = "invoices" if kind == BillingDocument.Kind.INVOICE else "credit-memos"

    class ListView(ApiView):
        perms = {"GET": ("invoicing.view_billingdocument",)}
        serializer_class = DocumentSerializer
        pagination_class = CursorPage

        @extend_schema(
            operation_id=f"list{name}s",
            tags=[tag],
            parameters=[
                OpenApiParameter("account", str, description="Account number or name."),
                OpenApiParameter("status", str, enum=BillingDocument.Status.values),
                OpenApiParameter("currency", str),
                OpenApiParameter("bill_run", str, description="BR- number."),
                OpenApiParameter("date_from", OpenApiTypes.DATE),
                OpenApiParameter("date_to", OpenApiTypes.DATE),
            ],
            responses={200: DocumentSerializer(many=True), **refusals()},
        )
        def get(self, request):
            filterset = ApiDocumentFilter(request.query_params, queryset=_documents(kind))
            if not filterset.is_valid():
                raise serializers.ValidationError(filterset.errors)
            page = self.paginate_queryset(filterset.qs)
            return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    class DetailView(ApiView):
        perms = {"GET": ("invoicing.view_billingdocument",)}

        @extend_schema(
            operation_id=f"get{name}",
            tags=[tag],
            parameters=[KEY],
            responses={200: DocumentDetailSerializer, **refusals()},
        )
        def get(self, request, key):
            document = by_key(_documents(kind), key)
            return success(DocumentDetailSerializer(document).data)

    class PdfView(FileView):
        perms = {
            "GET": ("invoicing.view_billingdocument",),
            "POST": ("invoicing.view_billingdocument",),
        }
        renderer_classes = [JSONRenderer, PdfRenderer]

        @extend_schema(
            operation_id=f"get{name}Pdf",
            tags=[tag],
            parameters=[KEY],
            description="A document of more than BILLCYCLE_PDF_WORKER_LINES lines is drawn by "
            "a worker: 202 with Retry-After until it is ready, then 200 with the file; 409 "
            "(code pdf_failed) if the drawing failed.",
            responses={
                (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
                (202, "application/json"): PREPARING,
                **{(code, JSONRenderer.media_type): error for code, error in refusals().items()},
            },
        )
        def get(self, request, key):
            return _pdf_answer(by_key(document_detail().filter(kind=kind), key))

        @extend_schema(
            operation_id=f"retry{name}Pdf",
            tags=[tag],
            parameters=[KEY],
            request=None,
            description="Draw a long document's PDF again after a failure; answers as GET.",
            responses={
                (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
                (202, "application/json"): PREPARING,
                **{(code, JSONRenderer.media_type): error for code, error in refusals().items()},
            },
        )
        def post(self, request, key):
            return _pdf_answer(by_key(document_detail().filter(kind=kind), key), retry=True)

    return ListView, DetailView, PdfView


InvoiceListView, InvoiceDetailView, InvoicePdfView = document_views(
    BillingDocument.Kind.INVOICE, "Invoice"
)
CreditMemoListView, CreditMemoDetailView, CreditMemoPdfView = document_views(
    BillingDocument.Kind.CREDIT_MEMO, "CreditMemo"
)
