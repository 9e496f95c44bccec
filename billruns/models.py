"""Bill runs, their schedules, and the bookkeeping of their execution.

Status transitions are never made here: every one goes through billruns/services/, whose
lifecycle.move() claims the source status that its TRANSITIONS table names with a conditional
UPDATE and appends a BillRunEvent (DESIGN §4).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from accounts.models import BILL_CYCLE_DAY_VALIDATORS
from billruns import terms
from billruns.terms import ALL_CHARGE_TYPES, TargetType
from core.models import actor_field
from core.numbering import NumberedModel
from invoicing.models import AMOUNT


def milliseconds_as_seconds(ms: int | None) -> Decimal | None:
    """83456 ms → 83.456 s; None stays None (not processed yet)."""
    if ms is None:
        return None
    return (Decimal(ms) / 1000).quantize(Decimal("0.001"))


def default_charge_types() -> list[str]:
    return list(ALL_CHARGE_TYPES)


def _validate_list(value, check, *, not_a_list: str, code: str) -> None:
    """The model's side of one of RunTerms' checks: the same sentences, as a ValidationError."""
    if not isinstance(value, list):
        raise ValidationError(not_a_list, code="invalid")
    try:
        check(value)
    except terms.InvalidTerms as error:
        raise ValidationError(str(error), code=code) from None


def validate_batches(value) -> None:
    _validate_list(
        value,
        terms.check_batches,
        not_a_list="Batches must be a list (empty for all batches).",
        code="invalid_batches",
    )


def validate_charge_types(value) -> None:
    _validate_list(
        value,
        terms.check_charge_types,
        not_a_list="Charge types must be a list.",
        code="invalid_charge_types",
    )
    if len(set(value)) != len(value):
        raise ValidationError("A charge type is listed twice.", code="invalid_charge_types")


class RunScope(models.Model):
    """Which accounts a run bills and which of their charges: shared by bill runs, their
    schedules and billing preview runs."""

    name = models.CharField(max_length=255, blank=True)
    target_type = models.CharField(
        max_length=20, choices=TargetType.choices, default=TargetType.MULTIPLE_ACCOUNTS
    )
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The one account of a SingleAccount run.",
    )
    batches = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_batches],
        help_text="Batch names; empty for all batches.",
    )
    charge_types = models.JSONField(
        default=default_charge_types, validators=[validate_charge_types]
    )

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.target_type == TargetType.SINGLE_ACCOUNT and not self.account_id:
            raise ValidationError({"account": terms.SINGLE_NEEDS_ACCOUNT})
        if self.target_type == TargetType.MULTIPLE_ACCOUNTS and self.account_id:
            raise ValidationError({"account": terms.ONLY_SINGLE_NAMES_ACCOUNT})


class BillRunTerms(RunScope):
    """What a run bills and what it does afterwards: shared by runs and their schedules."""

    auto_post = models.BooleanField(default=False)
    auto_email = models.BooleanField(default=False, help_text="Email documents after posting.")
    no_email_for_zero_amount = models.BooleanField(
        "no email for zero-amount invoices", default=False
    )

    class Meta:
        abstract = True


class RunCounters(models.Model):
    """What a run counts, kept per chunk as it is billed and added up for the run."""

    number_of_accounts = models.PositiveIntegerField(default=0)
    number_of_invoices = models.PositiveIntegerField(default=0)
    number_of_zero_amount_invoices = models.PositiveIntegerField(default=0)
    number_of_credit_memos = models.PositiveIntegerField(default=0)
    number_of_failures = models.PositiveIntegerField(default=0)
    # Pending usage dated in a period its charge had already billed: left Pending, as Zuora
    # ignores usage loaded into an invoiced period (each account's page marks it Late).
    number_of_late_usage = models.PositiveIntegerField(default=0)
    # {"USD": {"invoice": "12.34", "credit_memo": "0.00"}, …}: amounts of different currencies
    # are never added together, so the per-currency totals are the ones a page shows.
    amounts_by_currency = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    COUNTS = (
        "number_of_accounts",
        "number_of_invoices",
        "number_of_zero_amount_invoices",
        "number_of_credit_memos",
        "number_of_failures",
        "number_of_late_usage",
    )


class BillRun(BillRunTerms, RunCounters, NumberedModel):
    NUMBER_PREFIX = "BR-"

    class RunType(models.TextChoices):
        AD_HOC = "AdHoc", "Ad hoc"
        SCHEDULED = "Scheduled"

    class Status(models.TextChoices):
        PENDING = "Pending"
        PROCESSING = "Processing"
        COMPLETED = "Completed"
        ERROR = "Error"
        CANCEL_IN_PROGRESS = "CancelInProgress", "Cancel in progress"
        CANCELED = "Canceled"
        POST_IN_PROGRESS = "PostInProgress", "Post in progress"
        POSTED = "Posted"

    run_type = models.CharField(max_length=10, choices=RunType.choices, default=RunType.AD_HOC)
    bill_cycle_day = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=BILL_CYCLE_DAY_VALIDATORS,
        help_text="Only accounts with this bill cycle day; empty for all days.",
    )
    # Set only by a schedule's AsRunDay on a month's last day: the run bills the bill cycle days
    # bill_cycle_day … bill_cycle_day_to (28–31 on 28 February). Null: just bill_cycle_day.
    bill_cycle_day_to = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=BILL_CYCLE_DAY_VALIDATORS
    )
    invoice_date = models.DateField()
    target_date = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error_message = models.TextField(blank=True)
    schedule = models.ForeignKey(
        "billruns.BillRunSchedule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    executed_at = models.DateTimeField(null=True, blank=True, help_text="Processing started.")
    completed_at = models.DateTimeField(null=True, blank=True, help_text="Processing ended.")
    posted_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Statistics (RunCounters), written by finalize_bill_run or terminate_bill_run from the
    # chunks' counters (money added up in Python, never SQL SUM).
    invoice_amount = models.DecimalField(**AMOUNT, default=0)
    credit_memo_amount = models.DecimalField(**AMOUNT, default=0)
    total_time_ms = models.PositiveBigIntegerField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries"
    )
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # The Review tab flags a document whose amount moved by more than this against the
    # account's previous document (DESIGN §11); an operator changes it on the tab.
    review_threshold_percent = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        default=Decimal("25"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("99999.99"))],
        help_text="Variance review: flag amounts that moved by more than this percentage.",
    )
    # A posting or a cancel is done by one worker at a time: it holds the run until lease_until
    # and renews it batch by batch; when it lapses, asking again (or the watchdog) takes over.
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # A cancel rolls back chunk by chunk: the last account id whose documents, lines, usage,
    # charges and renewals it has rolled back, so that a resumed cancel goes on from there.
    rolled_back_through = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bill_cycle_day__isnull=True)
                | Q(bill_cycle_day__gte=1, bill_cycle_day__lte=31),
                name="billrun_bill_cycle_day_1_31",
                violation_error_message="The bill cycle day must be between 1 and 31.",
            ),
            models.CheckConstraint(
                condition=Q(bill_cycle_day_to__isnull=True)
                | Q(
                    bill_cycle_day__isnull=False,
                    bill_cycle_day_to__gte=models.F("bill_cycle_day"),
                    bill_cycle_day_to__lte=31,
                ),
                name="billrun_bill_cycle_day_range",
                violation_error_message="A range of bill cycle days runs from the bill cycle "
                "day to at most 31.",
            ),
            models.CheckConstraint(
                condition=Q(target_type="SingleAccount", account__isnull=False)
                | Q(target_type="MultipleAccounts", account__isnull=True),
                name="billrun_account_iff_single",
                violation_error_message="A single-account run names one account; "
                "a multiple-account run names none.",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "Pending",
                        "Processing",
                        "Completed",
                        "Error",
                        "CancelInProgress",
                        "Canceled",
                        "PostInProgress",
                        "Posted",
                    ]
                ),
                name="billrun_status_known",
            ),
            models.CheckConstraint(
                condition=Q(chunks_done__lte=models.F("chunks_total")),
                name="billrun_chunks_done_le_total",
            ),
            models.CheckConstraint(
                condition=Q(invoice_amount__gte=0, credit_memo_amount__gte=0),
                name="billrun_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(review_threshold_percent__gte=0),
                name="billrun_review_threshold_not_negative",
                violation_error_message="The review threshold cannot be negative.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="billrun_status_created_idx"),
            models.Index(fields=["target_date"], name="billrun_target_date_idx"),
        ]
        permissions = [
            ("post_billrun", "Can post bill runs"),
            ("cancel_billrun", "Can cancel bill runs"),
            ("terminate_billrun", "Can terminate bill runs"),
        ]

    # Statuses in which a run may still be edited by hand (its name, in the admin).
    EDITABLE_STATUSES = frozenset({Status.PENDING})

    def __str__(self) -> str:
        return f"{self.number} {self.name}".strip()

    def get_absolute_url(self) -> str:
        return reverse("billruns:detail", args=[self.pk])

    @property
    def total_time_seconds(self) -> Decimal | None:
        """Total Time as Zuora's Billing Run data source gives it: processing time (not
        posting) in seconds with 3 decimals, 83456 ms → 83.456; None until processed."""
        return milliseconds_as_seconds(self.total_time_ms)

    @property
    def scope_label(self) -> str:
        """What the run bills, as the list and detail pages say it (from the list's columns)."""
        return terms.RunTerms(
            target_type=self.target_type,
            account=self.account if self.account_id else None,
            batches=self.batches,
            bill_cycle_day=self.bill_cycle_day,
            bill_cycle_day_to=self.bill_cycle_day_to,
            retry_of=self.retry_of if self.retry_of_id else None,
        ).scope_label

    @property
    def has_failures(self) -> bool:
        return self.number_of_failures > 0

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE_STATUSES


class AccountRangeChunk(RunCounters):
    """A contiguous range of a run's account ids, fixed when the run is planned, and what
    billing (or previewing) it counted. A worker claims it under a lease (DESIGN §6)."""

    class Status(models.TextChoices):
        PENDING = "Pending"
        RUNNING = "Running"
        DONE = "Done"
        FAILED = "Failed"

    sequence = models.PositiveIntegerField(help_text="Position of the chunk in its run.")
    first_account_id = models.BigIntegerField()
    last_account_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The claim's token: set when a worker claims the chunk, compared by every later write.
    started_at = models.DateTimeField(null=True, blank=True)
    # The claim's lease, renewed by the working worker's heartbeat; once it lapses the chunk
    # may be claimed again (DESIGN §6).
    lease_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    number_of_lines = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"Chunk {self.sequence} (accounts {self.first_account_id}–{self.last_account_id})"


class BillRunChunk(AccountRangeChunk):
    bill_run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="chunks")

    class Meta:
        ordering = ["bill_run", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["bill_run", "sequence"], name="chunk_sequence_unique"),
            models.CheckConstraint(
                condition=Q(first_account_id__lte=models.F("last_account_id")),
                name="chunk_range_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["bill_run", "status"], name="chunk_run_status_idx"),
            # The watchdog's question every few seconds: which claims have lapsed?
            models.Index(
                fields=["lease_until"],
                condition=Q(status="Running"),
                name="chunk_running_lease_idx",
            ),
        ]


class CursorMove(models.Model):
    """Where a run found a charge's `charged_through`, kept where its lines cannot say it.

    Canceling a run puts every cursor it moved back exactly where it was. Usually the run's
    first line of the charge says it (the day before that line, or never billed when the line
    starts on the charge's first day); a chunk writes a CursorMove only for the others: a usage
    period that had no records, a credit back, a first line that does not follow the cursor.
    See billruns/cursors.py.
    """

    bill_run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="+")
    # Denormalised like Charge.account: a cancel reads the moves of one chunk's account range.
    account_id = models.BigIntegerField()
    charge = models.ForeignKey("accounts.Charge", on_delete=models.CASCADE, related_name="+")
    before = models.DateField(null=True, blank=True)
    after = models.DateField(null=True, blank=True)

    class Meta:
        # The one query: a cancel's moves of one account range of one run.
        indexes = [models.Index(fields=["bill_run", "account_id"], name="cursormove_run_acct_idx")]

    def __str__(self) -> str:
        return f"Charge {self.charge_id}: {self.before} → {self.after}"


class RatingFailure(models.Model):
    """Why an account could not be billed (by a run, or by the run a preview foresees)."""

    subscription = models.ForeignKey(
        "accounts.Subscription", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    charge = models.ForeignKey(
        "accounts.Charge", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error_code = models.CharField(max_length=50)
    message = models.TextField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message[:60]}"


class BillRunFailure(RatingFailure):
    """An account (or one of its subscriptions or charges) that a run could not bill."""

    bill_run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="failures")
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="bill_run_failures"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bill_run", "account_id", "id"]
        indexes = [models.Index(fields=["bill_run", "account"], name="failure_run_account_idx")]


class BillRunEvent(models.Model):
    """One entry of a run's History. It outlives the run: deleting a run keeps its audit trail."""

    bill_run = models.ForeignKey(
        BillRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    # Kept so the entry still says which run it was about after the run is deleted.
    bill_run_number = models.CharField(max_length=20)
    from_status = models.CharField(max_length=20, blank=True)
    # A BillRun status, or "Deleted" for the entry written when a run is removed.
    to_status = models.CharField(max_length=20)
    actor = actor_field()
    at = models.DateTimeField()
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["bill_run", "at"], name="event_run_at_idx")]

    def __str__(self) -> str:
        return f"{self.bill_run_number}: {self.from_status or '—'} → {self.to_status}"


class BillRunSchedule(BillRunTerms):
    """A recurring bill run. Each execution creates a new Scheduled BillRun linked here."""

    class Frequency(models.TextChoices):
        DAILY = "Daily"
        WEEKLY = "Weekly"
        MONTHLY = "Monthly"

    AS_RUN_DAY = "AsRunDay"
    BILL_CYCLE_DAY_CHOICES = [
        ("", "All bill cycle days"),
        *[(str(day), str(day)) for day in range(1, 32)],
        (AS_RUN_DAY, "As run day"),
    ]
    WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    enabled = models.BooleanField(default=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    # Python weekday numbers, Monday = 0 … Sunday = 6 (Weekly only).
    weekdays = models.JSONField(default=list, blank=True)
    day_of_month = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text="Monthly only; 29–31 mean the month's last day in shorter months.",
    )
    run_time = models.TimeField(help_text="Time of day, in the server's TIME_ZONE.")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    target_date_offset_days = models.SmallIntegerField(default=0)
    invoice_date_offset_days = models.SmallIntegerField(default=0)
    # "" = all days, "1"…"31", or "AsRunDay": the run day's accounts, and on a month's last
    # day every larger day too.
    bill_cycle_day = models.CharField(
        max_length=8, choices=BILL_CYCLE_DAY_CHOICES, blank=True, default=""
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="bill_run_schedules",
        help_text="Receives the completion and error emails of every execution.",
    )
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=["Daily", "Weekly", "Monthly"]),
                name="schedule_frequency_known",
            ),
            models.CheckConstraint(
                condition=~Q(frequency="Monthly") | Q(day_of_month__gte=1, day_of_month__lte=31),
                name="schedule_monthly_has_day",
                violation_error_message="A monthly schedule needs a day of month (1–31).",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="schedule_range_ordered",
                violation_error_message="A schedule cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(target_type="SingleAccount", account__isnull=False)
                | Q(target_type="MultipleAccounts", account__isnull=True),
                name="schedule_account_iff_single",
            ),
            models.CheckConstraint(
                condition=Q(
                    bill_cycle_day__in=["", "AsRunDay", *[str(day) for day in range(1, 32)]]
                ),
                name="schedule_bill_cycle_day_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"Schedule {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("schedules:detail", args=[self.pk])

    @property
    def q_schedule_name(self) -> str:
        """The name of the one django-q2 Schedule that fires this schedule."""
        return f"billcycle-schedule-{self.pk}"

    @property
    def rule(self) -> dict:
        """The calendar rule, as billruns.schedules.dates takes it."""
        return {
            "frequency": self.frequency,
            "weekdays": list(self.weekdays or []),
            "day_of_month": self.day_of_month,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
        }

    @property
    def frequency_label(self) -> str:
        if self.frequency == self.Frequency.WEEKLY:
            days = ", ".join(self.WEEKDAY_NAMES[day] for day in sorted(self.weekdays or []))
            return f"Weekly on {days}"
        if self.frequency == self.Frequency.MONTHLY:
            suffix = " (or the month's last day)" if (self.day_of_month or 0) > 28 else ""
            return f"Monthly on day {self.day_of_month}{suffix}"
        return "Daily"

    def clean(self):
        super().clean()
        if self.frequency == self.Frequency.WEEKLY:
            days = self.weekdays
            if (
                not isinstance(days, list)
                or not days
                or any(not isinstance(day, int) or not 0 <= day <= 6 for day in days)
            ):
                raise ValidationError(
                    {"weekdays": "A weekly schedule needs weekdays, 0 (Monday) … 6 (Sunday)."}
                )
        elif self.weekdays:
            raise ValidationError({"weekdays": "Only a weekly schedule has weekdays."})
        if self.frequency == self.Frequency.MONTHLY and not self.day_of_month:
            raise ValidationError({"day_of_month": "A monthly schedule needs a day of month."})


# Preview runs and the review's facts live in their packages; imported so that the app has them.
from billruns.preview.models import (  # noqa: E402, F401
    BillingPreviewChunk,
    BillingPreviewFailure,
    BillingPreviewRun,
)
from billruns.review.models import ReviewEntry, ReviewPreparation  # noqa: E402, F401
