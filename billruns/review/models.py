"""The variance review's prepared facts (docs/decisions.md, "Variance review (issue 16)"):
models of the billruns app, registered when billruns.services.finalize imports the review's
services (as every process does at start-up, through billruns.apps and billruns.services).

A run's review is prepared once (billruns.review.services.prepare_review), not per page: each
of its documents' previous document, amounts, change and line count as one narrow row, so that a
page reads the flagged documents through an index whatever the run's size.
"""

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Account
from billruns.models import BillRun, BillRunEvent
from invoicing.models import AMOUNT, BillingDocument

# History entries that end a change to some run's documents: processing wrote them (Completed,
# Error; terminated too), a cancel voided them (Canceled, or stopped half way and given back).
DOCUMENTS_CHANGED_FROM = (BillRun.Status.PROCESSING, BillRun.Status.CANCEL_IN_PROGRESS)


class ReviewPreparationQuerySet(models.QuerySet):
    def with_staleness(self):
        """Each preparation with `stale`: a run dated on or before the reviewed one (or a run
        since deleted) finished writing or voiding documents after the preparation began, so a
        previous document may have come or gone. A probe of the History's primary key from
        `events_through`: the entries written since, a handful."""
        changed = BillRunEvent.objects.filter(
            pk__gt=OuterRef("events_through"), from_status__in=DOCUMENTS_CHANGED_FROM
        ).filter(
            Q(bill_run__isnull=True)
            | Q(bill_run__invoice_date__lte=OuterRef("bill_run__invoice_date"))
        )
        return self.annotate(stale=Exists(changed))


class ReviewPreparation(models.Model):
    """Where a run's review stands: being prepared (chunk by chunk, under an attempt number),
    or ready, with the run's line-count histogram."""

    class Status(models.TextChoices):
        PREPARING = "Preparing"
        READY = "Ready"

    bill_run = models.OneToOneField(
        BillRun, on_delete=models.CASCADE, primary_key=True, related_name="review_preparation"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREPARING)
    # The token of the preparation under way: asking again counts up, and a worker still at an
    # older attempt stops at its next chunk.
    attempt = models.PositiveIntegerField(default=1)
    # The newest History entry (BillRunEvent id) when this attempt was asked for: a later entry
    # that changed documents makes the prepared facts stale (ReviewPreparationQuerySet).
    events_through = models.BigIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # [[line count, documents], …] of the run's documents (not Canceled), ascending.
    line_counts = models.JSONField(default=list, blank=True)
    # {currency: documents} of the run's documents (not Canceled): with the run's amounts, each
    # currency's average document, from which a first document is unusually large.
    documents_by_currency = models.JSONField(default=dict, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    # Moved by every chunk filled: a preparation that stopped moving is asked for again.
    updated_at = models.DateTimeField(default=timezone.now)
    prepared_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewPreparationQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Review of bill run {self.bill_run_id}: {self.status}"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def histogram(self) -> dict[int, int]:
        return {lines: documents for lines, documents in self.line_counts}


class ReviewEntry(models.Model):
    """One document of a reviewed run (not Canceled) as the review compares it. Written by set-
    based INSERT … SELECT, never row by row; the indexes are the flags' conditions, so a page
    reads only the flagged documents.

    Amounts are signed (a credit memo's negated), as the rules compare them. `change_percent` is
    (amount - previous) / |previous| x 100 rounded *away from zero* to 0.001: as the threshold
    has two decimals, "rounded change above the threshold" is exactly "change above the
    threshold" (a change of 25.0004 % is stored 25.001 and flagged at 25; one of exactly 25 %
    stays 25.000). NULL without a previous document, or from a previous 0.00.
    """

    # Not the primary key: SQLite keeps an integer primary key as the row id itself, so that the
    # flags' index ranges carry the id they look up (a document_id key would be one more index).
    document = models.OneToOneField(BillingDocument, on_delete=models.CASCADE, related_name="+")
    bill_run = models.ForeignKey(
        BillRun, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The documents protect their accounts; nothing looks entries up by account.
    account = models.ForeignKey(
        Account, on_delete=models.DO_NOTHING, related_name="+", db_index=False
    )
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT)
    # No constraint and no index: deleting documents (a canceled run's) must not look for the
    # entries that name them as previous. Those entries are stale by then (the cancel's History
    # entry), and a stale review is prepared again before it is shown.
    previous = models.ForeignKey(
        BillingDocument,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
    )
    previous_amount = models.DecimalField(**AMOUNT, null=True)
    change_percent = models.DecimalField(max_digits=24, decimal_places=3, null=True)
    line_count = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "review entries"
        indexes = [
            # CHANGE: change_percent above the threshold or below its negative.
            models.Index(fields=["bill_run", "change_percent"], name="review_change_idx"),
            # FIRST (previous_amount IS NULL) and a change from zero (previous_amount = 0).
            models.Index(fields=["bill_run", "previous_amount"], name="review_previous_idx"),
            # MANY_LINES, and the run's line-count histogram.
            models.Index(fields=["bill_run", "line_count"], name="review_lines_idx"),
        ]

    def __str__(self) -> str:
        return f"Review entry of document {self.document_id}"
