"""`/api/v1/bill-runs`: create, list, read, post, cancel, delete, email, failures (DESIGN §10).

Field names and words are Zuora's (`billRunNumber`, `chargeTypeToExclude`, `AllBatches`); the
terms a request asks for become a `RunTerms` and go to the same service as the new run form.
"""

import hashlib

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers

from accounts.models import BATCHES, Account
from api.common import ApiView, CursorPage, SuccessSerializer, by_key, success
from api.errors import refusals
from api.fields import SaneDateField
from billruns import selectors, services
from billruns.filters import BillRunFilter
from billruns.models import BillRun, BillRunFailure
from billruns.terms import ALL_CHARGE_TYPES, RunTerms, TargetType
from core.money import stored_amount

ALL_BATCHES = "AllBatches"
ALL_DAYS = "AllBillCycleDays"
IDEMPOTENCY_KEY_LENGTH = BillRun._meta.get_field("idempotency_key").max_length


class BillRunFilterSerializer(serializers.Serializer):
    filterType = serializers.ChoiceField(choices=["Account"])
    accountId = serializers.CharField(
        max_length=20, help_text="The account's number (A00000042) or id."
    )


class RunTermsSerializer(serializers.Serializer):
    """The terms a bill run or a billing preview run is created with, as Zuora names them:
    validated into a `RunTerms` in `validated_data["terms"]`. Subclasses add fields and put
    them into the terms in `extra_terms`."""

    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    invoiceDate = SaneDateField(required=False, help_text="Defaults to today.")
    targetDate = SaneDateField()
    batches = serializers.ListField(
        child=serializers.ChoiceField(choices=[ALL_BATCHES, *BATCHES]),
        required=False,
        max_length=len(BATCHES),
        help_text='["AllBatches"] (the default) or some of "Batch1" … "Batch50".',
    )
    billCycleDay = serializers.CharField(
        required=False,
        max_length=16,
        help_text='"AllBillCycleDays" (the default) or a day from 1 to 31.',
    )
    billRunFilters = BillRunFilterSerializer(
        many=True, required=False, max_length=1, help_text="One account: a single-account run."
    )
    chargeTypeToExclude = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_CHARGE_TYPES), required=False, max_length=2
    )

    def validate_billCycleDay(self, value: str) -> int | None:
        if value == ALL_DAYS:
            return None
        if value.isascii() and value.isdigit() and 1 <= int(value) <= 31:
            return int(value)
        raise serializers.ValidationError(f'Use "{ALL_DAYS}" or a day from 1 to 31.')

    def validate_billRunFilters(self, value: list[dict]) -> Account | None:
        if not value:
            return None
        key = value[0]["accountId"]
        try:
            return by_key(Account.objects.all(), key)
        except exceptions.NotFound:
            raise serializers.ValidationError(f"No account {key!r}.") from None

    def validate(self, data: dict) -> dict:
        batches = data.get("batches") or []
        if ALL_BATCHES in batches and len(batches) > 1:
            raise serializers.ValidationError(
                {"batches": f'"{ALL_BATCHES}" stands alone: it already includes every batch.'}
            )
        account = data.get("billRunFilters")
        if account is not None and ("batches" in data or data.get("billCycleDay") is not None):
            raise serializers.ValidationError(
                "billRunFilters cannot be combined with batches or billCycleDay."
            )
        excluded = data.get("chargeTypeToExclude") or []
        data["terms"] = RunTerms(
            name=data["name"],
            invoice_date=data.get("invoiceDate") or timezone.localdate(),
            target_date=data["targetDate"],
            target_type=TargetType.SINGLE_ACCOUNT if account else TargetType.MULTIPLE_ACCOUNTS,
            account=account,
            batches=[batch for batch in batches if batch != ALL_BATCHES],
            bill_cycle_day=data.get("billCycleDay"),
            charge_types=[t for t in ALL_CHARGE_TYPES if t not in excluded],
            **self.extra_terms(data),
        )
        return data

    def extra_terms(self, data: dict) -> dict:
        """RunTerms fields of a subclass's own request fields."""
        return {}


class BillRunCreateSerializer(RunTermsSerializer):
    """What a bill run bills (its scope, dates and charge types) and does once billed."""

    autoPost = serializers.BooleanField(required=False, default=False)
    autoEmail = serializers.BooleanField(required=False, default=False)
    noEmailForZeroAmountInvoice = serializers.BooleanField(required=False, default=False)

    def extra_terms(self, data: dict) -> dict:
        return {
            "auto_post": data["autoPost"],
            "auto_email": data["autoEmail"],
            "no_email_for_zero_amount": data["noEmailForZeroAmountInvoice"],
        }


class CurrencyAmountsSerializer(serializers.Serializer):
    invoiceAmount = serializers.DecimalField(max_digits=18, decimal_places=3)
    creditMemoAmount = serializers.DecimalField(max_digits=18, decimal_places=3)


AMOUNTS_BY_CURRENCY = serializers.DictField(child=CurrencyAmountsSerializer())
TOTAL_TIME = serializers.DecimalField(max_digits=15, decimal_places=3, allow_null=True)


# How a bill run and a billing preview run answer their terms and totals, in Zuora's words.


def batches_answer(scope) -> list[str]:
    if scope.target_type == TargetType.SINGLE_ACCOUNT:
        return []
    return list(scope.batches) or [ALL_BATCHES]


def bill_cycle_day_answer(day: int | None, last_day: int | None = None) -> str:
    if day is None:
        return ALL_DAYS
    if last_day not in (None, day):
        return f"{day}-{last_day}"
    return str(day)


def excluded_charge_types(scope) -> list[str]:
    return [t for t in ALL_CHARGE_TYPES if t not in scope.charge_types]


def amounts_answer(counted) -> dict:
    """Totals per currency, each rounded to that currency's minor unit; never added across
    currencies."""
    return {
        currency: {
            "invoiceAmount": str(stored_amount(totals.get("invoice", 0), currency)),
            "creditMemoAmount": str(stored_amount(totals.get("credit_memo", 0), currency)),
        }
        for currency, totals in sorted((counted.amounts_by_currency or {}).items())
    }


def total_time_answer(counted) -> str | None:
    seconds = counted.total_time_seconds
    return str(seconds) if seconds is not None else None


class BillRunSerializer(serializers.ModelSerializer):
    """A run as Zuora's Billing Run data source names it, plus the terms it was created with."""

    billRunNumber = serializers.CharField(source="number")
    billRunType = serializers.CharField(source="run_type", help_text="AdHoc or Scheduled.")
    targetType = serializers.CharField(source="target_type")
    errorMessage = serializers.CharField(source="error_message")
    invoiceDate = serializers.DateField(source="invoice_date")
    targetDate = serializers.DateField(source="target_date")
    batches = serializers.SerializerMethodField()
    billCycleDay = serializers.SerializerMethodField()
    billRunFilters = serializers.SerializerMethodField()
    chargeTypeToExclude = serializers.SerializerMethodField()
    autoPost = serializers.BooleanField(source="auto_post")
    autoEmail = serializers.BooleanField(source="auto_email")
    noEmailForZeroAmountInvoice = serializers.BooleanField(source="no_email_for_zero_amount")
    numberOfAccounts = serializers.IntegerField(source="number_of_accounts")
    numberOfInvoices = serializers.IntegerField(source="number_of_invoices")
    numberOfZeroAmountInvoices = serializers.IntegerField(source="number_of_zero_amount_invoices")
    numberOfCreditMemos = serializers.IntegerField(source="number_of_credit_memos")
    numberOfFailures = serializers.IntegerField(source="number_of_failures")
    amountsByCurrency = serializers.SerializerMethodField()
    totalTime = serializers.SerializerMethodField()
    chunksDone = serializers.IntegerField(source="chunks_done")
    chunksTotal = serializers.IntegerField(source="chunks_total")
    retryOfId = serializers.IntegerField(source="retry_of_id", allow_null=True)
    scheduleId = serializers.IntegerField(source="schedule_id", allow_null=True)
    createdById = serializers.IntegerField(source="created_by_id", allow_null=True)
    createdBy = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    createdDate = serializers.DateTimeField(source="created_at")
    updatedById = serializers.IntegerField(source="updated_by_id", allow_null=True)
    updatedBy = serializers.CharField(source="updated_by.username", default=None, allow_null=True)
    updatedDate = serializers.DateTimeField(source="updated_at")
    executedDate = serializers.DateTimeField(source="executed_at", allow_null=True)
    endDate = serializers.DateTimeField(source="completed_at", allow_null=True)
    postedDate = serializers.DateTimeField(source="posted_at", allow_null=True)
    canceledDate = serializers.DateTimeField(source="canceled_at", allow_null=True)

    class Meta:
        model = BillRun
        fields = [
            "id", "billRunNumber", "name", "billRunType", "status", "targetType",
            "errorMessage", "invoiceDate", "targetDate", "batches", "billCycleDay",
            "billRunFilters", "chargeTypeToExclude", "autoPost", "autoEmail",
            "noEmailForZeroAmountInvoice", "numberOfAccounts", "numberOfInvoices",
            "numberOfZeroAmountInvoices", "numberOfCreditMemos", "numberOfFailures",
            "amountsByCurrency", "totalTime", "chunksDone", "chunksTotal", "retryOfId",
            "scheduleId", "createdById", "createdBy", "createdDate", "updatedById", "updatedBy",
            "updatedDate", "executedDate", "endDate", "postedDate", "canceledDate",
        ]  # fmt: skip

    def get_batches(self, run) -> list[str]:
        return batches_answer(run)

    def get_billCycleDay(self, run) -> str:
        return bill_cycle_day_answer(run.bill_cycle_day, run.bill_cycle_day_to)

    @extend_schema_field(BillRunFilterSerializer(many=True))
    def get_billRunFilters(self, run) -> list[dict]:
        if run.target_type != TargetType.SINGLE_ACCOUNT or run.account is None:
            return []
        return [{"filterType": "Account", "accountId": run.account.number}]

    def get_chargeTypeToExclude(self, run) -> list[str]:
        return excluded_charge_types(run)

    @extend_schema_field(AMOUNTS_BY_CURRENCY)
    def get_amountsByCurrency(self, run) -> dict:
        return amounts_answer(run)

    @extend_schema_field(TOTAL_TIME)
    def get_totalTime(self, run):
        """Processing time in seconds (not posting), as the Billing Run data source has it."""
        return total_time_answer(run)

    def to_representation(self, run) -> dict:
        """The fields above, built in one pass: DRF's per-field machinery cost 0.4 ms a run,
        most of a 100-run page (docs/benchmarks.md). `tests/api/test_bill_runs.py` checks that
        this answers exactly what the declared fields would."""
        date, stamp = DATE.to_representation, STAMP.to_representation
        return {
            "id": run.pk,
            "billRunNumber": run.number,
            "name": run.name,
            "billRunType": run.run_type,
            "status": run.status,
            "targetType": run.target_type,
            "errorMessage": run.error_message,
            "invoiceDate": date(run.invoice_date),
            "targetDate": date(run.target_date),
            "batches": self.get_batches(run),
            "billCycleDay": self.get_billCycleDay(run),
            "billRunFilters": self.get_billRunFilters(run),
            "chargeTypeToExclude": self.get_chargeTypeToExclude(run),
            "autoPost": run.auto_post,
            "autoEmail": run.auto_email,
            "noEmailForZeroAmountInvoice": run.no_email_for_zero_amount,
            "numberOfAccounts": run.number_of_accounts,
            "numberOfInvoices": run.number_of_invoices,
            "numberOfZeroAmountInvoices": run.number_of_zero_amount_invoices,
            "numberOfCreditMemos": run.number_of_credit_memos,
            "numberOfFailures": run.number_of_failures,
            "amountsByCurrency": self.get_amountsByCurrency(run),
            "totalTime": self.get_totalTime(run),
            "chunksDone": run.chunks_done,
            "chunksTotal": run.chunks_total,
            "retryOfId": run.retry_of_id,
            "scheduleId": run.schedule_id,
            "createdById": run.created_by_id,
            "createdBy": run.created_by.username if run.created_by_id else None,
            "createdDate": stamp(run.created_at),
            "updatedById": run.updated_by_id,
            "updatedBy": run.updated_by.username if run.updated_by_id else None,
            "updatedDate": stamp(run.updated_at),
            "executedDate": stamp(run.executed_at) if run.executed_at else None,
            "endDate": stamp(run.completed_at) if run.completed_at else None,
            "postedDate": stamp(run.posted_at) if run.posted_at else None,
            "canceledDate": stamp(run.canceled_at) if run.canceled_at else None,
        }


DATE, STAMP = serializers.DateField(), serializers.DateTimeField()


class BillRunFailureSerializer(serializers.ModelSerializer):
    accountNumber = serializers.CharField(source="account.number")
    subscriptionNumber = serializers.CharField(
        source="subscription.number", default=None, allow_null=True
    )
    chargeNumber = serializers.CharField(source="charge.number", default=None, allow_null=True)
    errorCode = serializers.CharField(source="error_code")
    createdDate = serializers.DateTimeField(source="created_at")

    class Meta:
        model = BillRunFailure
        fields = [
            "id", "accountNumber", "subscriptionNumber", "chargeNumber", "errorCode", "message",
            "createdDate",
        ]  # fmt: skip


class ApiBillRunFilter(BillRunFilter):
    o = None  # the API's pages are cursors, always newest first


def bill_runs():
    return BillRun.objects.select_related("account", "created_by", "updated_by")


def bill_run_answer(run: BillRun, *, status: int = 200):
    return success(BillRunSerializer(run).data, status=status)


def idempotency_key(request) -> str | None:
    """The run's stored key for the request's Idempotency-Key: the client's key belongs to its
    user (two users may use the same words) and never meets the keys Billcycle makes itself
    (a schedule's `schedule-3-2026-12-01`, a retry's), so it is stored as
    `api:<user id>:<SHA-256 of the key>`, which also fits the column whatever the key."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key.strip() or len(key) > IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise serializers.ValidationError(
            {
                "Idempotency-Key": [
                    f"Use 1 to {IDEMPOTENCY_KEY_LENGTH} printable characters as the key."
                ]
            }
        )
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"api:{request.user.pk}:{digest}"


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Creating twice with one key returns the first run (up to 255 characters).",
)
KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="The id or BR- number.")


class BillRunListView(ApiView):
    perms = {"GET": ("billruns.view_billrun",), "POST": ("billruns.add_billrun",)}
    serializer_class = BillRunSerializer
    pagination_class = CursorPage
    filterset_class = ApiBillRunFilter

    def get_queryset(self):
        return bill_runs()

    @extend_schema(
        operation_id="listBillRuns",
        parameters=[
            OpenApiParameter("q", str, description="Part of the number or name."),
            OpenApiParameter("status", str, enum=BillRun.Status.values),
            OpenApiParameter("run_type", str, enum=BillRun.RunType.values),
            OpenApiParameter("has_failures", bool),
            *(
                OpenApiParameter(name, OpenApiTypes.DATE)
                for name in ("created_after", "created_before", "target_after", "target_before")
            ),
        ],
        responses={200: BillRunSerializer(many=True), **refusals()},
    )
    def get(self, request):
        filterset = ApiBillRunFilter(request.query_params, queryset=self.get_queryset())
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(BillRunSerializer(page, many=True).data)

    @extend_schema(
        operation_id="createBillRun",
        request=BillRunCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: BillRunSerializer, 201: BillRunSerializer, **refusals()},
    )
    def post(self, request):
        key = idempotency_key(request)
        if key and (earlier := selectors.run_created_with(key)) is not None:
            return bill_run_answer(earlier)
        serializer = BillRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.create_bill_run(
            terms=serializer.validated_data["terms"], acting_user=request.user, idempotency_key=key
        )
        created = getattr(run, "just_created", False)
        return bill_run_answer(by_key(bill_runs(), str(run.pk)), status=201 if created else 200)


class BillRunDetailView(ApiView):
    perms = {"GET": ("billruns.view_billrun",), "DELETE": ("billruns.delete_billrun",)}

    @extend_schema(
        operation_id="getBillRun",
        parameters=[KEY],
        responses={200: BillRunSerializer, **refusals()},
    )
    def get(self, request, key):
        return bill_run_answer(by_key(bill_runs(), key))

    @extend_schema(
        operation_id="deleteBillRun",
        parameters=[KEY],
        responses={200: SuccessSerializer, **refusals()},
    )
    def delete(self, request, key):
        services.delete_bill_run(run=by_key(bill_runs(), key), acting_user=request.user)
        return success()


class BillRunPostView(ApiView):
    perms = {"PUT": ("billruns.post_billrun",)}

    @extend_schema(
        operation_id="postBillRun",
        parameters=[KEY],
        request=None,
        responses={200: BillRunSerializer, **refusals()},
        description="Completed → PostInProgress; a worker posts every Draft document, then the "
        "run is Posted. Asked again while PostInProgress, the posting goes on.",
    )
    def put(self, request, key):
        run = by_key(bill_runs(), key)
        services.post_bill_run(run=run, acting_user=request.user, background=True)
        return bill_run_answer(by_key(bill_runs(), key))


class BillRunCancelView(ApiView):
    perms = {"PUT": ("billruns.cancel_billrun",)}

    @extend_schema(
        operation_id="cancelBillRun",
        parameters=[KEY],
        request=None,
        responses={200: BillRunSerializer, **refusals()},
        description="Pending, Completed or Error (with no posted document) → CancelInProgress; "
        "a worker voids the documents and makes the charges billable again, then Canceled.",
    )
    def put(self, request, key):
        run = by_key(bill_runs(), key)
        services.cancel_bill_run(run=run, acting_user=request.user, background=True)
        return bill_run_answer(by_key(bill_runs(), key))


class EmailRequestSerializer(serializers.Serializer):
    resend = serializers.BooleanField(required=False, default=False)


class BillRunEmailsView(ApiView):
    perms = {"POST": ("billruns.change_billrun",)}

    @extend_schema(
        operation_id="emailBillRun",
        parameters=[KEY],
        request=EmailRequestSerializer,
        responses={
            200: inline_serializer(
                "BillRunEmailsAnswer",
                {
                    "success": serializers.BooleanField(),
                    "documentsQueued": serializers.IntegerField(),
                },
            ),
            **refusals(),
        },
    )
    def post(self, request, key):
        run = by_key(bill_runs(), key)
        serializer = EmailRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        queued = services.email_bill_run(
            run=run, acting_user=request.user, resend=serializer.validated_data["resend"]
        )
        return success({"documentsQueued": queued})


class BillRunFailuresView(ApiView):
    perms = {"GET": ("billruns.view_billrun",)}
    serializer_class = BillRunFailureSerializer
    pagination_class = CursorPage

    @extend_schema(
        operation_id="listBillRunFailures",
        parameters=[KEY],
        responses={200: BillRunFailureSerializer(many=True), **refusals()},
    )
    def get(self, request, key):
        run = by_key(BillRun.objects.all(), key)
        failures = run.failures.select_related("account", "subscription", "charge")
        page = self.paginate_queryset(failures)
        return self.get_paginated_response(BillRunFailureSerializer(page, many=True).data)
