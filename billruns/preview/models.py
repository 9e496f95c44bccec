"""Billing preview runs (DESIGN §11), their chunks and failures: models of the billruns app,
registered through billruns.models."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from accounts.models import BILL_CYCLE_DAY_VALIDATORS
from billruns import terms
from billruns.models import (
    AccountRangeChunk,
    RatingFailure,
    RunCounters,
    RunScope,
    milliseconds_as_seconds,
)
from core.numbering import NumberedModel


class BillingPreviewRun(RunScope, RunCounters, NumberedModel):
    """Zuora's Billing Preview Run (DESIGN §11): what a bill run with this scope, these dates
    and charge types would bill, rated by the bill run's own code, writing none of what a run
    writes. Its result is a CSV (one row per line a run would write), kept in its chunks."""

    NUMBER_PREFIX = "BPR-"
    # Kept this long after creation, then deleted by the daily clean-up.
    KEEP_DAYS = 180

    class Status(models.TextChoices):
        PENDING = "Pending"
        PROCESSING = "Processing"
        COMPLETED = "Completed"
        ERROR = "Error"
        CANCELED = "Canceled"

    LIVE_STATUSES = frozenset({Status.PENDING, Status.PROCESSING})

    bill_cycle_day = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=BILL_CYCLE_DAY_VALIDATORS,
        help_text="Only accounts with this bill cycle day; empty for all days.",
    )
    invoice_date = models.DateField()
    target_date = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    executed_at = models.DateTimeField(null=True, blank=True, help_text="Processing started.")
    completed_at = models.DateTimeField(null=True, blank=True, help_text="Processing ended.")
    total_time_ms = models.PositiveBigIntegerField(null=True, blank=True)
    number_of_lines = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bill_cycle_day__isnull=True)
                | Q(bill_cycle_day__gte=1, bill_cycle_day__lte=31),
                name="preview_bill_cycle_day_1_31",
            ),
            models.CheckConstraint(
                condition=Q(target_type="SingleAccount", account__isnull=False)
                | Q(target_type="MultipleAccounts", account__isnull=True),
                name="preview_account_iff_single",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["Pending", "Processing", "Completed", "Error", "Canceled"]),
                name="preview_status_known",
            ),
            models.CheckConstraint(
                condition=Q(chunks_done__lte=models.F("chunks_total")),
                name="preview_chunks_done_le_total",
            ),
        ]
        # The clean-up's question: which previews are older than KEEP_DAYS?
        indexes = [models.Index(fields=["created_at"], name="preview_created_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.name}".strip()

    def get_absolute_url(self) -> str:
        return reverse("billruns:preview_detail", args=[self.pk])

    @property
    def terms(self) -> "terms.RunTerms":
        """The terms of the bill run this previews (its scope, dates and charge types)."""
        return terms.RunTerms(
            invoice_date=self.invoice_date,
            target_date=self.target_date,
            target_type=self.target_type,
            account=self.account,
            batches=self.batches,
            bill_cycle_day=self.bill_cycle_day,
            charge_types=self.charge_types,
            name=self.name,
        )

    @property
    def scope_label(self) -> str:
        return self.terms.scope_label

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    @property
    def total_time_seconds(self) -> Decimal | None:
        return milliseconds_as_seconds(self.total_time_ms)


class BillingPreviewChunk(AccountRangeChunk):
    """A range of a preview's accounts and its share of the result: the CSV rows of its lines,
    zlib-compressed, written in the transaction that marks the chunk Done."""

    preview = models.ForeignKey(BillingPreviewRun, on_delete=models.CASCADE, related_name="chunks")
    csv_rows = models.BinaryField(default=b"", editable=False)

    class Meta:
        ordering = ["preview", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["preview", "sequence"], name="preview_chunk_sequence_unique"
            ),
            models.CheckConstraint(
                condition=Q(first_account_id__lte=models.F("last_account_id")),
                name="preview_chunk_range_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["preview", "status"], name="preview_chunk_status_idx"),
            models.Index(
                fields=["lease_until"],
                condition=Q(status="Running"),
                name="preview_chunk_lease_idx",
            ),
        ]


class BillingPreviewFailure(RatingFailure):
    """An account a bill run with the preview's terms would fail to bill, and why."""

    preview = models.ForeignKey(
        BillingPreviewRun, on_delete=models.CASCADE, related_name="failures"
    )
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["preview", "account_id", "id"]
        indexes = [models.Index(fields=["preview", "account"], name="preview_failure_acct_idx")]
