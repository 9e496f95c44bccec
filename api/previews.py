"""`/api/v1/billing-preview-runs`: create, list, read, cancel, failures and the result CSV of
billing preview runs (DESIGN §11, Zuora's Billing Preview Run).

A preview is asked for with a bill run's own request fields (less what a run does once billed)
and goes to the same preview service as the page; its result is the service's CSV, streamed.
"""

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import renderers, serializers
from rest_framework.renderers import JSONRenderer

from api.billruns import (
    AMOUNTS_BY_CURRENCY,
    IDEMPOTENCY_HEADER,
    TOTAL_TIME,
    BillRunFailureSerializer,
    RunTermsSerializer,
    amounts_answer,
    batches_answer,
    bill_cycle_day_answer,
    excluded_charge_types,
    idempotency_key,
    total_time_answer,
)
from api.common import ApiView, CursorPage, FileView, by_key, success
from api.errors import Conflict, refusals
from billruns.errors import BillRunError
from billruns.models import BillingPreviewFailure, BillingPreviewRun
from billruns.preview import result, services

Status = BillingPreviewRun.Status
# The result is there once the preview has finished: all of it when Completed, the chunks that
# could be rated when Error. A canceled preview's partial rows would mislead.
RESULT_STATUSES = (Status.COMPLETED, Status.ERROR)

KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="The id or BPR- number.")


class CsvRenderer(renderers.BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; the view answers the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class BillingPreviewRunCreateSerializer(RunTermsSerializer):
    """What the bill run to preview would bill: its scope, dates and charge types."""


class ProgressSerializer(serializers.Serializer):
    chunksDone = serializers.IntegerField(source="chunks_done")
    chunksTotal = serializers.IntegerField(source="chunks_total")


class BillingPreviewRunSerializer(serializers.ModelSerializer):
    """A billing preview run in Zuora's words, with the terms of the run it previews."""

    billingPreviewRunNumber = serializers.CharField(source="number")
    status = serializers.ChoiceField(choices=Status.choices)
    targetType = serializers.CharField(source="target_type")
    accountNumber = serializers.CharField(source="account.number", default=None, allow_null=True)
    batches = serializers.SerializerMethodField()
    billCycleDay = serializers.SerializerMethodField()
    chargeTypeToExclude = serializers.SerializerMethodField()
    invoiceDate = serializers.DateField(source="invoice_date")
    targetDate = serializers.DateField(source="target_date")
    numberOfAccounts = serializers.IntegerField(source="number_of_accounts")
    numberOfInvoices = serializers.IntegerField(source="number_of_invoices")
    numberOfCreditMemos = serializers.IntegerField(source="number_of_credit_memos")
    numberOfFailures = serializers.IntegerField(source="number_of_failures")
    numberOfLines = serializers.IntegerField(source="number_of_lines")
    amountsByCurrency = serializers.SerializerMethodField()
    progress = ProgressSerializer(source="*")
    totalTime = serializers.SerializerMethodField()
    errorMessage = serializers.CharField(source="error_message")
    createdById = serializers.IntegerField(source="created_by_id", allow_null=True)
    createdDate = serializers.DateTimeField(source="created_at")
    executedDate = serializers.DateTimeField(source="executed_at", allow_null=True)
    completedDate = serializers.DateTimeField(source="completed_at", allow_null=True)
    resultFileUrl = serializers.SerializerMethodField()

    class Meta:
        model = BillingPreviewRun
        fields = [
            "id", "billingPreviewRunNumber", "status", "name", "targetType", "accountNumber",
            "batches", "billCycleDay", "chargeTypeToExclude", "invoiceDate", "targetDate",
            "numberOfAccounts", "numberOfInvoices", "numberOfCreditMemos", "numberOfFailures",
            "numberOfLines", "amountsByCurrency", "progress", "totalTime", "errorMessage",
            "createdById", "createdDate", "executedDate", "completedDate", "resultFileUrl",
        ]  # fmt: skip

    def get_batches(self, preview) -> list[str]:
        return batches_answer(preview)

    def get_billCycleDay(self, preview) -> str:
        return bill_cycle_day_answer(preview.bill_cycle_day)

    def get_chargeTypeToExclude(self, preview) -> list[str]:
        return excluded_charge_types(preview)

    @extend_schema_field(AMOUNTS_BY_CURRENCY)
    def get_amountsByCurrency(self, preview) -> dict:
        return amounts_answer(preview)

    @extend_schema_field(TOTAL_TIME)
    def get_totalTime(self, preview):
        """Seconds from the first chunk's start to the last chunk's end."""
        return total_time_answer(preview)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_resultFileUrl(self, preview) -> str | None:
        """Where the CSV is downloaded, once the preview is Completed (or Error)."""
        if preview.status not in RESULT_STATUSES:
            return None
        path = reverse("api:preview_result", args=[preview.number])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class BillingPreviewFailureSerializer(BillRunFailureSerializer):
    class Meta:
        model = BillingPreviewFailure
        fields = [
            "id", "accountNumber", "subscriptionNumber", "chargeNumber", "errorCode", "message",
        ]  # fmt: skip


def previews():
    return BillingPreviewRun.objects.select_related("account")


def preview_answer(request, preview: BillingPreviewRun, *, status: int = 200):
    data = BillingPreviewRunSerializer(preview, context={"request": request}).data
    return success(data, status=status)


class PreviewListView(ApiView):
    perms = {
        "GET": ("billruns.view_billingpreviewrun",),
        "POST": ("billruns.add_billingpreviewrun",),
    }
    serializer_class = BillingPreviewRunSerializer
    pagination_class = CursorPage

    def get_queryset(self):
        return previews()

    @extend_schema(
        operation_id="listBillingPreviewRuns",
        responses={200: BillingPreviewRunSerializer(many=True), **refusals()},
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        data = BillingPreviewRunSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(
        operation_id="createBillingPreviewRun",
        request=BillingPreviewRunCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            200: BillingPreviewRunSerializer,
            201: BillingPreviewRunSerializer,
            **refusals(),
        },
        description="A Pending preview, rated by workers in chunks: poll it until Completed "
        "(or Error), then download its resultFileUrl. Nothing a bill run writes is written.",
    )
    def post(self, request):
        key = idempotency_key(request)
        if key and (earlier := previews().filter(idempotency_key=key).first()) is not None:
            return preview_answer(request, earlier)
        serializer = BillingPreviewRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = services.create_preview(
            terms=serializer.validated_data["terms"], acting_user=request.user, idempotency_key=key
        )
        created = getattr(preview, "just_created", False)
        return preview_answer(
            request, by_key(previews(), str(preview.pk)), status=201 if created else 200
        )


class PreviewDetailView(ApiView):
    perms = {"GET": ("billruns.view_billingpreviewrun",)}

    @extend_schema(
        operation_id="getBillingPreviewRun",
        parameters=[KEY],
        responses={200: BillingPreviewRunSerializer, **refusals()},
    )
    def get(self, request, key):
        return preview_answer(request, by_key(previews(), key))


class PreviewCancelView(ApiView):
    perms = {"PUT": ("billruns.add_billingpreviewrun",)}

    @extend_schema(
        operation_id="cancelBillingPreviewRun",
        parameters=[KEY],
        request=None,
        responses={200: BillingPreviewRunSerializer, **refusals()},
        description="Pending or Processing → Canceled: no chunk starts after this.",
    )
    def put(self, request, key):
        preview = by_key(previews(), key)
        try:
            services.cancel_preview(preview=preview)
        except BillRunError as error:
            raise Conflict(str(error), code="illegal_transition") from None
        return preview_answer(request, by_key(previews(), key))


class PreviewResultView(FileView):
    perms = {"GET": ("billruns.view_billingpreviewrun",)}
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="getBillingPreviewRunResult",
        parameters=[KEY],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
            **{(status, JSONRenderer.media_type): error for status, error in refusals().items()},
        },
        description="One row per line a bill run would write: "
        + ", ".join(result.COLUMNS)
        + ". 409 until the preview is Completed or Error, and for a canceled one.",
    )
    def get(self, request, key):
        preview = by_key(BillingPreviewRun.objects.all(), key)
        if preview.status not in RESULT_STATUSES:
            raise Conflict(
                f"{preview.number} is {preview.status}: "
                "only a Completed (or Error) preview has a result.",
                code="no_result",
            )
        response = StreamingHttpResponse(
            result.stream(preview), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{result.filename(preview)}"'
        return response


class PreviewFailuresView(ApiView):
    perms = {"GET": ("billruns.view_billingpreviewrun",)}
    serializer_class = BillingPreviewFailureSerializer
    pagination_class = CursorPage

    @extend_schema(
        operation_id="listBillingPreviewRunFailures",
        parameters=[KEY],
        responses={200: BillingPreviewFailureSerializer(many=True), **refusals()},
    )
    def get(self, request, key):
        preview = by_key(BillingPreviewRun.objects.all(), key)
        failures = preview.failures.select_related("account", "subscription", "charge")
        page = self.paginate_queryset(failures)
        return self.get_paginated_response(BillingPreviewFailureSerializer(page, many=True).data)
