"""Customer accounts and what they are billed for: subscriptions, charges and usage.

Stored values of every choice are Zuora's words ("OneTime", "InAdvance", "Batch7"), so exports,
the admin and the API speak the same language.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from core.models import actor_field
from core.money import is_known_currency
from core.numbering import NumberedModel
from core.tiers import InvalidTiers, parse_tiers

BATCH_COUNT = 50
BATCHES = [f"Batch{n}" for n in range(1, BATCH_COUNT + 1)]
# Batch names sort as Batch1, Batch2, … Batch50 here, not Batch1, Batch10, … as strings would.
Batch = models.TextChoices("Batch", [(name.upper(), name) for name in BATCHES])

BILL_CYCLE_DAY_VALIDATORS = [MinValueValidator(1), MaxValueValidator(31)]
# Up to 20 digits with 6 decimals: prices and unit prices (DESIGN §3).
PRICE = {"max_digits": 20, "decimal_places": 6}


def validate_currency(value: str) -> None:
    if not is_known_currency(value):
        raise ValidationError(
            "%(value)s is not an ISO 4217 currency code (for example USD, EUR, GBP, JPY).",
            params={"value": value},
            code="invalid_currency",
        )


class AccountQuerySet(models.QuerySet):
    def billable(self):
        """Only Active accounts are billed; Draft and Canceled ones are skipped."""
        return self.filter(status=Account.Status.ACTIVE)


class Account(NumberedModel):
    NUMBER_PREFIX = "A"

    class Status(models.TextChoices):
        DRAFT = "Draft"
        ACTIVE = "Active"
        CANCELED = "Canceled"

    name = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    currency = models.CharField(
        max_length=3, validators=[validate_currency], help_text="ISO 4217 code, e.g. USD."
    )
    # 29–31 fall on the last day of shorter months.
    bill_cycle_day = models.PositiveSmallIntegerField(validators=BILL_CYCLE_DAY_VALIDATORS)
    batch = models.CharField(max_length=7, choices=Batch.choices, default=Batch.BATCH1)
    bill_to_name = models.CharField(max_length=255, blank=True)
    bill_to_email = models.EmailField(blank=True)
    payment_term_days = models.PositiveSmallIntegerField(
        default=30, help_text="Due date = invoice date + this many days."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bill_cycle_day__gte=1, bill_cycle_day__lte=31),
                name="account_bill_cycle_day_1_31",
                violation_error_message="The bill cycle day must be between 1 and 31.",
            ),
            models.CheckConstraint(
                condition=Q(batch__in=BATCHES),
                name="account_batch_known",
                violation_error_message="The batch must be one of Batch1 … Batch50.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["Draft", "Active", "Canceled"]),
                name="account_status_known",
            ),
        ]
        indexes = [
            # A bill run's scope: Active accounts of some batches and/or one bill cycle day,
            # walked in id order to cut chunks.
            models.Index(fields=["status", "batch", "bill_cycle_day", "id"], name="acct_scope_idx"),
            models.Index(fields=["status", "bill_cycle_day", "id"], name="acct_bcd_idx"),
            models.Index(fields=["currency"], name="acct_currency_idx"),
            models.Index(fields=["name"], name="acct_name_idx"),
        ]

    @property
    def is_billable(self) -> bool:
        """Only Active accounts are billed (the same rule as AccountQuerySet.billable)."""
        return self.status == self.Status.ACTIVE

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("accounts:detail", args=[self.pk])


class Subscription(NumberedModel):
    NUMBER_PREFIX = "S"

    class Status(models.TextChoices):
        ACTIVE = "Active"
        CANCELED = "Canceled"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    term_start = models.DateField()
    term_end = models.DateField(
        null=True, blank=True, help_text="Last day of the current term; empty for evergreen."
    )
    # A termed subscription renews by renewal_term_months when a bill run reaches its term end.
    auto_renew = models.BooleanField(default=False)
    renewal_term_months = models.PositiveSmallIntegerField(default=12)
    canceled_on = models.DateField(
        null=True, blank=True, help_text="The first day without service."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(term_end__isnull=True) | Q(term_end__gte=models.F("term_start")),
                name="subscription_term_ordered",
                violation_error_message="The term cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(status="Active", canceled_on__isnull=True)
                | Q(status="Canceled", canceled_on__isnull=False),
                name="subscription_canceled_on_iff_canceled",
                violation_error_message="A canceled subscription needs its cancellation date, "
                "and only a canceled one has it.",
            ),
            models.CheckConstraint(
                condition=Q(auto_renew=False)
                | Q(term_end__isnull=False, renewal_term_months__gte=1),
                name="subscription_renews_a_term",
                violation_error_message="Only a termed subscription renews, by at least a month.",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Charge(NumberedModel):
    """A subscription's rate plan charge. A negative price is a credit."""

    NUMBER_PREFIX = "C"

    class ChargeType(models.TextChoices):
        ONE_TIME = "OneTime", "One-time"
        RECURRING = "Recurring"
        USAGE = "Usage"

    class ChargeModel(models.TextChoices):
        FLAT_FEE = "FlatFee", "Flat fee"
        PER_UNIT = "PerUnit", "Per unit"
        TIERED = "Tiered"
        VOLUME = "Volume"

    class BillingPeriod(models.TextChoices):
        WEEK = "Week"
        MONTH = "Month"
        QUARTER = "Quarter"
        SEMI_ANNUAL = "SemiAnnual", "Semi-annual"
        ANNUAL = "Annual"

    class BillingTiming(models.TextChoices):
        IN_ADVANCE = "InAdvance", "In advance"
        IN_ARREARS = "InArrears", "In arrears"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="charges")
    # Denormalised from the subscription so a chunk reads its charges by account id range.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="charges")
    name = models.CharField(max_length=255)
    charge_type = models.CharField(max_length=10, choices=ChargeType.choices)
    charge_model = models.CharField(max_length=10, choices=ChargeModel.choices)
    price = models.DecimalField(
        **PRICE, default=0, help_text="Per period (FlatFee) or per unit (PerUnit)."
    )
    quantity = models.DecimalField(**PRICE, default=1)
    tiers = models.JSONField(
        default=list,
        blank=True,
        help_text='Tiered/Volume only: [{"up_to": 100, "unit_price": "0.10", "flat_price": "0"}, '
        '…, {"up_to": null, …}]. Prices as strings.',
    )
    uom = models.CharField("unit of measure", max_length=40, blank=True)
    billing_period = models.CharField(
        max_length=10,
        choices=BillingPeriod.choices,
        blank=True,
        help_text="Required for recurring and usage charges.",
    )
    billing_timing = models.CharField(
        max_length=10, choices=BillingTiming.choices, default=BillingTiming.IN_ADVANCE
    )
    # The charge segment this one continues after a change (DESIGN §9): once a charge has
    # billed, its pricing never changes in place; a change ends it and starts a successor.
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successor",
    )
    effective_start = models.DateField()
    effective_end = models.DateField(
        null=True, blank=True, help_text="Last day billed (inclusive); empty when open."
    )
    # The billing cursor: the last day already billed, null when never billed. It only moves
    # in the transaction that writes the lines billing up to it (and back on cancellation).
    charged_through = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(charge_type__in=["OneTime", "Recurring", "Usage"]),
                name="charge_type_known",
            ),
            models.CheckConstraint(
                condition=Q(charge_model__in=["FlatFee", "PerUnit", "Tiered", "Volume"]),
                name="charge_model_known",
            ),
            models.CheckConstraint(
                condition=Q(charge_type="OneTime")
                | Q(billing_period__in=["Week", "Month", "Quarter", "SemiAnnual", "Annual"]),
                name="charge_period_when_recurring_or_usage",
                violation_error_message="Recurring and usage charges need a billing period.",
            ),
            models.CheckConstraint(
                condition=~Q(charge_type="Usage") | Q(billing_timing="InArrears"),
                name="charge_usage_in_arrears",
                violation_error_message="Usage is always billed in arrears.",
            ),
            models.CheckConstraint(
                condition=~Q(charge_type="Usage") | ~Q(charge_model="FlatFee"),
                name="charge_usage_not_flat_fee",
                violation_error_message="Usage charges are rated per unit, tiered or volume.",
            ),
            models.CheckConstraint(
                condition=Q(effective_end__isnull=True)
                | Q(effective_end__gte=models.F("effective_start")),
                name="charge_effective_ordered",
                violation_error_message="A charge cannot end before it starts.",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "charge_type"], name="charge_account_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def save(self, *args, **kwargs):
        if self.account_id is None and self.subscription_id is not None:
            self.account_id = self.subscription.account_id
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        if self.subscription_id and self.account_id:
            if self.subscription.account_id != self.account_id:
                errors["account"] = "The charge's account must be its subscription's account."
        if self.charge_model in (self.ChargeModel.TIERED, self.ChargeModel.VOLUME):
            try:
                parse_tiers(self.tiers)
            except InvalidTiers as error:
                errors["tiers"] = str(error)
        elif self.tiers:
            errors["tiers"] = "Only Tiered and Volume charges have tiers."
        if self.charge_type == self.ChargeType.USAGE and self.billing_timing != (
            self.BillingTiming.IN_ARREARS
        ):
            errors["billing_timing"] = "Usage is always billed in arrears."
        if errors:
            raise ValidationError(errors)


class UsageRecord(models.Model):
    class Status(models.TextChoices):
        PENDING = "Pending"
        BILLED = "Billed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="usage_records")
    charge = models.ForeignKey(
        Charge,
        on_delete=models.CASCADE,
        related_name="usage_records",
        limit_choices_to={"charge_type": Charge.ChargeType.USAGE},
    )
    quantity = models.DecimalField(**PRICE)
    usage_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The line that billed it; PROTECT so a billed record can never point at nothing.
    line = models.ForeignKey(
        "invoicing.DocumentLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="usage_records",
    )
    source = models.CharField(
        max_length=255, blank=True, help_text="Import file name and row, for traceability."
    )
    # The sender's own key for the record (the API's `uniqueKey`, Zuora's UniqueKey): a record
    # sent again with its key is refused by this unique index, not by a lookup that a
    # concurrent request could race.
    unique_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["usage_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="usage_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(status="Pending", line__isnull=True)
                | Q(status="Billed", line__isnull=False),
                name="usage_billed_iff_line",
                violation_error_message="Billed usage points at its line; pending usage has none.",
            ),
        ]
        indexes = [
            # Pending usage of a charge up to a date, and of a chunk's accounts.
            models.Index(
                fields=["charge", "usage_date"],
                condition=Q(status="Pending"),
                name="usage_pending_charge_idx",
            ),
            models.Index(
                fields=["account", "usage_date"],
                condition=Q(status="Pending"),
                name="usage_pending_account_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} on {self.usage_date:%Y-%m-%d} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        if self.account_id is None and self.charge_id is not None:
            self.account_id = self.charge.account_id
        super().save(*args, **kwargs)

    def clean(self):
        if self.charge_id and self.account_id and self.charge.account_id != self.account_id:
            raise ValidationError({"account": "The usage's account must be its charge's account."})
        if self.charge_id and self.charge.charge_type != Charge.ChargeType.USAGE:
            raise ValidationError({"charge": "Usage can only be recorded on a usage charge."})


class Amendment(models.Model):
    """One change of what a customer is sold: the subscription's history (DESIGN §3, §9).

    Written by the services of accounts/services.py and by automatic renewal, never by hand.
    """

    class Kind(models.TextChoices):
        CANCEL = "Cancel"
        CHANGE_CHARGE = "ChangeCharge", "Change charge"
        REMOVE_CHARGE = "RemoveCharge", "Remove charge"
        ADD_CHARGE = "AddCharge", "Add charge"
        RENEW = "Renew"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="amendments"
    )
    charge = models.ForeignKey(
        Charge,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="amendments",
        help_text="Empty for a change of the whole subscription.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    effective_date = models.DateField(help_text="The first day of the change.")
    actor = actor_field(help_text="Empty for the system (automatic renewal).")
    at = models.DateTimeField()
    # What changed, before and after: {"price": ["30.00", "35.00"], …} (decimals as strings).
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subscription", "at"], name="amendment_sub_at_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=["Cancel", "ChangeCharge", "RemoveCharge", "AddCharge", "Renew"]
                ),
                name="amendment_kind_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.subscription_id} from {self.effective_date}"


class UsageImport(models.Model):
    """One usage file whose records were imported: what recognises the same rows imported again,
    which would bill the same usage twice.

    `content_hash` is the SHA-256 of the file's data rows as read (the four columns' values, in
    file order, whatever the column order, line endings or BOM; a quantity without its decimals'
    trailing zeros), so a file saved again by a spreadsheet is still the same file.
    """

    content_hash = models.CharField(max_length=64)
    # 0 for the first import of these rows; 1, 2, … for each repeat an operator confirmed. Unique
    # with the hash, so two imports of the same rows at once cannot both pass as the first.
    repeat = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=255)
    # The `source` of its first and last record written ("usage.csv:2", "usage.csv:1001").
    first_source = models.CharField(max_length=255)
    last_source = models.CharField(max_length=255)
    records = models.PositiveIntegerField(help_text="Usage records written.")
    imported_at = models.DateTimeField()
    imported_by = actor_field(help_text="Empty for a command.")

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_hash", "repeat"], name="usage_import_repeat_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.records} usage records)"
