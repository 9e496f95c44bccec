"""Billing documents (invoices and credit memos) and their lines."""

from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from accounts.models import PRICE, Charge
from core.numbering import next_numbers

# Up to 18 digits with 3 decimals: enough for every ISO 4217 minor unit (DESIGN §3).
AMOUNT = {"max_digits": 18, "decimal_places": 3}


class BillingDocumentQuerySet(models.QuerySet):
    def invoices(self):
        return self.filter(kind=BillingDocument.Kind.INVOICE)

    def credit_memos(self):
        return self.filter(kind=BillingDocument.Kind.CREDIT_MEMO)


class BillingDocument(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "Invoice"
        CREDIT_MEMO = "CreditMemo", "Credit memo"

    class Status(models.TextChoices):
        DRAFT = "Draft"
        POSTED = "Posted"
        CANCELED = "Canceled"

    NUMBER_PREFIXES = {Kind.INVOICE: "INV", Kind.CREDIT_MEMO: "CM"}

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Gapless per kind, from reserve_numbers() in the transaction that writes the document.
    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    # Every index here costs every document a bill run writes (issue 14): each one is named
    # with the query that needs it. No index of its own for `account` and `bill_run`: their
    # lookups (an account's documents, a run's documents, the PROTECT checks) use the
    # composite indexes in Meta that start with them.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="documents", db_index=False
    )
    bill_run = models.ForeignKey(
        "billruns.BillRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        db_index=False,
    )
    currency = models.CharField(max_length=3)
    document_date = models.DateField(help_text="The invoice date.")
    target_date = models.DateField(null=True, blank=True)
    due_date = models.DateField()
    # Positive for both kinds: a credit memo's lines carry the signs turned (DESIGN §5).
    amount = models.DecimalField(**AMOUNT, default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    posted_at = models.DateTimeField(null=True, blank=True)
    # No index: nothing looks documents up by who posted them; deleting a user (rare, in the
    # admin) scans the documents once to clear it.
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BillingDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-document_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="document_amount_not_negative",
                violation_error_message="A document's amount is never negative; "
                "a negative total makes a credit memo.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["Invoice", "CreditMemo"]), name="document_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["Draft", "Posted", "Canceled"]),
                name="document_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="Posted") | Q(posted_at__isnull=False),
                name="document_posted_has_posted_at",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("document_date")),
                name="document_due_after_date",
                violation_error_message="The due date cannot be before the invoice date.",
            ),
        ]
        indexes = [
            # A run's documents: its Invoices and Credit memos tabs (kind), posting and
            # canceling (status), the run's exports and emails.
            models.Index(fields=["bill_run", "kind", "status"], name="doc_run_kind_status_idx"),
            # An account's documents, newest first: the account page, the documents list
            # filtered by account (accounts.selectors, invoicing.filters).
            models.Index(fields=["account", "document_date"], name="doc_account_date_idx"),
            # The documents list filtered by status, newest first (invoicing.filters).
            models.Index(fields=["status", "document_date"], name="doc_status_date_idx"),
            # The Documents list's default order (newest document date first): without it a
            # million documents are sorted for every unfiltered page.
            models.Index(fields=["document_date", "id"], name="doc_date_idx"),
        ]
        permissions = [
            ("post_billingdocument", "Can post and unpost billing documents"),
        ]

    def __str__(self) -> str:
        return self.number or f"Unnumbered {self.get_kind_display().lower()}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:detail", args=[self.pk])

    @property
    def is_credit_memo(self) -> bool:
        return self.kind == self.Kind.CREDIT_MEMO

    @property
    def is_zero_amount(self) -> bool:
        return self.amount == 0

    @classmethod
    def reserve_numbers(cls, kinds: Iterable[str], *, using: str | None = None) -> dict:
        """Each kind → an iterator over the next numbers of its sequence, as many as `kinds`
        holds of it, one sequence statement per kind.

        Call it inside the transaction that writes the documents, so a rollback returns the
        numbers and the sequence stays gapless.
        """
        counts = Counter(kinds)
        return {
            kind: iter(next_numbers(prefix, counts[kind], using=using))
            for kind, prefix in cls.NUMBER_PREFIXES.items()
        }


class KindManager(models.Manager):
    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def get_queryset(self):
        return BillingDocumentQuerySet(self.model, using=self._db).filter(kind=self.kind)


class Invoice(BillingDocument):
    objects = KindManager(BillingDocument.Kind.INVOICE)

    class Meta:
        proxy = True

    def save(self, *args, **kwargs):
        self.kind = BillingDocument.Kind.INVOICE
        super().save(*args, **kwargs)


class CreditMemo(BillingDocument):
    objects = KindManager(BillingDocument.Kind.CREDIT_MEMO)

    class Meta:
        proxy = True
        verbose_name = "credit memo"

    def save(self, *args, **kwargs):
        self.kind = BillingDocument.Kind.CREDIT_MEMO
        super().save(*args, **kwargs)


class DocumentLine(models.Model):
    # The indexes of the hottest table (every one costs every line a run writes): `document`
    # for a document's lines (its page, PDF, export, cancel); `charge` for the lines a credit
    # back reads (billruns.changes.with_billed_lines) and a stopped cancel's message; `credits`
    # for the credit lines of those lines (same); the two unique constraints below guard
    # against billing twice. None for `subscription`: nothing looks lines up by it; deleting
    # a subscription (refused by PROTECT once billed) scans the lines once to find that out.
    # What each costs: docs/benchmarks.md, "Honestly fast (issue 14)".
    document = models.ForeignKey(BillingDocument, on_delete=models.CASCADE, related_name="lines")
    charge = models.ForeignKey(
        "accounts.Charge", on_delete=models.PROTECT, related_name="document_lines"
    )
    subscription = models.ForeignKey(
        "accounts.Subscription",
        on_delete=models.PROTECT,
        related_name="document_lines",
        db_index=False,
        # No database constraint either: the line's subscription is its charge's (the writer
        # copies it), and the charge's own constraints guard both. Checking it cost PostgreSQL
        # a row lock on a subscription for every line written: 336 ms of a 20,405-line chunk's
        # commit (786 ms → 450 ms), measured.
        db_constraint=False,
    )
    charge_type = models.CharField(max_length=10, choices=Charge.ChargeType.choices)
    description = models.CharField(max_length=255)
    service_start = models.DateField()
    service_end = models.DateField(help_text="Inclusive, as printed on the document.")
    quantity = models.DecimalField(**PRICE, default=1)
    unit_price = models.DecimalField(**PRICE, default=0)
    # Rounded half-up to the currency's minor unit; signed as on the document.
    amount = models.DecimalField(**AMOUNT)
    # Set with its document's cancellation, which frees (charge, service_start) for rebilling.
    canceled = models.BooleanField(default=False)
    # A credit line (DESIGN §5 credit back) names the charge line it credits; null for a charge
    # line.
    credits = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_lines"
    )

    class Meta:
        ordering = ["document_id", "service_start", "id"]
        constraints = [
            # The database's own guard against double billing, on SQLite and PostgreSQL alike.
            models.UniqueConstraint(
                fields=["charge", "service_start"],
                condition=Q(canceled=False, credits__isnull=True),
                name="line_once_per_charge_period",
                violation_error_message="This charge is already billed for this service period.",
            ),
            # ... and against crediting the same days of a line twice.
            models.UniqueConstraint(
                fields=["credits", "service_start"],
                condition=Q(canceled=False, credits__isnull=False),
                name="credit_once_per_line_period",
                violation_error_message="This line is already credited from this day.",
            ),
            models.CheckConstraint(
                condition=Q(service_end__gte=models.F("service_start")),
                name="line_service_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} {self.service_start:%Y-%m-%d}–{self.service_end:%Y-%m-%d}"


class StoredPdf(models.Model):
    """A long document's PDF, rendered by a worker and kept for download (docs/decisions.md,
    "Big PDFs"). In the database, so every web server and worker of a cluster sees the same
    file without shared storage.

    `version` fingerprints what the PDF shows (invoicing.pdf_files.pdf_version): when the
    document changes (posted, its account's bill-to renamed), the stored file no longer
    matches and is rendered again on the next request.
    """

    class Status(models.TextChoices):
        PENDING = "Pending"
        RENDERING = "Rendering"
        READY = "Ready"
        FAILED = "Failed"

    document = models.OneToOneField(
        BillingDocument, on_delete=models.CASCADE, primary_key=True, related_name="stored_pdf"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    version = models.CharField(max_length=64)
    content = models.BinaryField(null=True, blank=True, editable=False)
    error = models.CharField(max_length=500, blank=True)
    requested_at = models.DateTimeField()
    # Set when a worker claims the rendering: the claim and the result name the same attempt.
    started_at = models.DateTimeField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    # Drawings started since the PDF was last asked for afresh: a drawing whose worker keeps
    # dying (out of memory, past the task timeout) ends Failed instead of being queued forever.
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "stored PDF"
        verbose_name_plural = "stored PDFs"

    def __str__(self) -> str:
        return f"PDF of {self.document_id} ({self.status})"
