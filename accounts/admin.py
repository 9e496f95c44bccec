"""Data maintenance for accounts, subscriptions, charges and usage.

These tables reach millions of rows: lists never count the whole table twice, foreign keys are
raw ids (a select would load every row), and only indexed columns sort.
"""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html_join

from accounts.models import Account, Amendment, Charge, Subscription, UsageRecord
from core.admin import BIG_TABLE_PAGE, NumberedAdmin, ViewOnlyAdmin, ViewOnlyTabularInline

# What was billed must stay as it was billed (DESIGN §9): an account's currency and bill cycle day
# once it has a document, a charge's pricing once it has billed. The pages offer the amendments
# instead, which end a charge and start a successor so that the next bill run credits the
# difference.
BILLED_ACCOUNT_FIELDS = ("currency", "bill_cycle_day")
BILLED_CHARGE_FIELDS = (
    "charge_model",
    "price",
    "quantity",
    "tiers",
    "billing_period",
    "billing_timing",
    "effective_start",
)
BILLED_ACCOUNT_NOTE = (
    "This account has billing documents, so its currency and bill cycle day are fixed: its "
    "documents were billed in this currency and on this cycle, and the next bill run would "
    "bill on a cycle or in a currency that no longer matches them. Open a new account instead."
)


def is_billed(charge: Charge) -> bool:
    return charge.charged_through is not None


class CurrencyFilter(admin.SimpleListFilter):
    """Currencies in use, read from the account table's currency index.

    Documents carry their account's currency, so their lists use it too instead of a DISTINCT
    over millions of unindexed document rows.
    """

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        currencies = Account.objects.order_by("currency").values_list("currency", flat=True)
        return [(code, code) for code in currencies.distinct()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(currency=self.value())
        return queryset


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    fields = ("number", "status", "term_start", "term_end", "canceled_on")
    readonly_fields = ("number",)
    extra = 0
    show_change_link = True


@admin.register(Account)
class AccountAdmin(NumberedAdmin):
    list_display = (
        "number",
        "name",
        "status",
        "currency",
        "batch",
        "bill_cycle_day",
        "bill_to_email",
    )
    list_filter = ("status", "batch", CurrencyFilter)
    search_fields = ("number", "name", "bill_to_name", "bill_to_email")
    search_help_text = "Number, name, bill-to name or bill-to email."
    sortable_by = ("number", "name")
    fieldsets = (
        (None, {"fields": ("number", "name", "status")}),
        ("Billing", {"fields": ("currency", "bill_cycle_day", "batch", "payment_term_days")}),
        ("Bill to", {"fields": ("bill_to_name", "bill_to_email")}),
        ("Timestamps", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    readonly_fields = ("created_at", "updated_at")
    inlines = (SubscriptionInline,)

    def has_documents(self, account: Account) -> bool:
        """Asked once per page (the fieldsets and the read-only fields both need it)."""
        if not hasattr(account, "_has_documents"):
            # The reverse relation of invoicing's foreign key: accounts never imports invoicing.
            account._has_documents = account.documents.exists()
        return account._has_documents

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and self.has_documents(obj):
            fields = (*fields, *BILLED_ACCOUNT_FIELDS)
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not self.has_documents(obj):
            return fieldsets
        return [
            (name, {**options, "description": BILLED_ACCOUNT_NOTE})
            if any(field in BILLED_ACCOUNT_FIELDS for field in options["fields"])
            else (name, options)
            for name, options in fieldsets
        ]


class ChargeInlineForm(forms.ModelForm):
    """A billed charge's pricing shows but does not change here (BILLED_CHARGE_FIELDS): a
    disabled field ignores what is posted for it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and is_billed(self.instance):
            for name in BILLED_CHARGE_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True


class ChargeInline(admin.TabularInline):
    model = Charge
    form = ChargeInlineForm
    # The account is not asked for: Charge.save() copies it from the subscription.
    fields = (
        "number",
        "name",
        "charge_type",
        "charge_model",
        "price",
        "quantity",
        "billing_period",
        "billing_timing",
        "effective_start",
        "effective_end",
        "charged_through",
    )
    readonly_fields = ("number", "charged_through")
    extra = 0
    show_change_link = True


class AmendmentInline(ViewOnlyTabularInline):
    model = Amendment
    verbose_name_plural = "amendments"
    fields = ("at", "kind", "charge", "effective_date", "actor", "details")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("charge", "actor")


@admin.register(Amendment)
class AmendmentAdmin(ViewOnlyAdmin):
    # Written by the lifecycle services only: the history of what a customer was sold.
    list_display = ("at", "kind", "subscription", "charge", "effective_date", "actor")
    list_select_related = ("subscription", "charge", "actor")
    list_filter = ("kind",)
    search_fields = ("subscription__number", "charge__number")
    search_help_text = "Subscription or charge number."
    raw_id_fields = ("subscription", "charge")
    show_full_result_count = False
    list_per_page = BIG_TABLE_PAGE


@admin.register(Subscription)
class SubscriptionAdmin(NumberedAdmin):
    list_display = ("number", "account", "status", "term_start", "term_end", "canceled_on")
    list_select_related = ("account",)
    list_filter = ("status",)
    search_fields = ("number", "account__number", "account__name")
    search_help_text = "Subscription number, account number or account name."
    sortable_by = ("number",)
    raw_id_fields = ("account",)
    fields = (
        "number",
        "account",
        "status",
        "term_start",
        "term_end",
        "auto_renew",
        "renewal_term_months",
        "canceled_on",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("created_at", "updated_at")
    inlines = (ChargeInline, AmendmentInline)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None:
            # Charges copy their subscription's account; moving the subscription would leave
            # them billing the old account.
            fields = (*fields, "account")
        return fields


@admin.register(Charge)
class ChargeAdmin(NumberedAdmin):
    list_display = (
        "number",
        "name",
        "subscription",
        "account",
        "charge_type",
        "charge_model",
        "price",
        "billing_period",
        "billing_timing",
        "effective_start",
        "effective_end",
        "charged_through",
    )
    list_select_related = ("subscription", "account")
    list_filter = ("charge_type", "charge_model", "billing_period", "billing_timing")
    search_fields = ("number", "name", "account__number", "subscription__number")
    search_help_text = "Charge number or name, account number or subscription number."
    sortable_by = ("number",)
    raw_id_fields = ("subscription",)
    fieldsets = (
        (None, {"fields": ("number", "subscription", "account", "name")}),
        (
            "Pricing",
            {"fields": ("charge_type", "charge_model", "price", "quantity", "tiers", "uom")},
        ),
        (
            "Billing",
            {
                "fields": (
                    "billing_period",
                    "billing_timing",
                    "effective_start",
                    "effective_end",
                    "charged_through",
                    "replaces",
                )
            },
        ),
        ("Timestamps", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    # The account follows the subscription (Charge.save); charged_through is the billing
    # cursor, moved only by the transaction that writes the lines, so a hand edit would bill a
    # period twice or never.
    readonly_fields = ("account", "charged_through", "replaces", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None:
            # The denormalised account is only filled on creation, so the subscription stays.
            fields = (*fields, "subscription", "amend")
            if is_billed(obj):
                fields = (*fields, *BILLED_CHARGE_FIELDS)
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        if is_billed(obj):
            billed_note = (
                f"Billed through {obj.charged_through:%Y-%m-%d}: its pricing, period, timing and "
                "start are fixed, since documents were billed at these terms. Use the amendment "
                "pages below instead."
            )
            fieldsets = [
                (name, {**options, "description": billed_note})
                if name == "Pricing"
                else (name, options)
                for name, options in fieldsets
            ]
        amend_note = (
            "An amendment takes effect from a date: the charge ends the day before and, for a "
            "change, a successor carries the new terms; the next bill run credits what was "
            "billed beyond the new end. Each is recorded, with who and when, in the "
            "subscription's history."
        )
        return [
            *fieldsets[:-1],
            ("Amend", {"fields": ("amend",), "description": amend_note}),
            fieldsets[-1],
        ]

    @admin.display(description="Amendment pages")
    def amend(self, obj):
        pages = [
            ("Change price or quantity", "accounts:change_charge", obj.pk),
            ("Remove", "accounts:remove_charge", obj.pk),
            ("Cancel the subscription", "accounts:cancel_subscription", obj.subscription_id),
        ]
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            ((reverse(view, args=[obj.account_id, pk]), label) for label, view, pk in pages),
        )


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ("id", "usage_date", "account", "charge", "quantity", "status", "source")
    list_select_related = ("account", "charge")
    list_filter = ("status",)
    search_fields = ("account__number", "charge__number", "source")
    search_help_text = "Account number, charge number or source (file name and row)."
    sortable_by = ("id",)
    # Newest first by primary key: the model's date ordering has no index to walk.
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = BIG_TABLE_PAGE
    raw_id_fields = ("charge", "account")
    fields = ("account", "charge", "quantity", "usage_date", "status", "line", "source")
    # Billing sets the status and the line together (a constraint ties them).
    readonly_fields = ("status", "line")

    def has_change_permission(self, request, obj=None):
        # Billed usage is part of a document's amount.
        if obj is not None and obj.status == UsageRecord.Status.BILLED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == UsageRecord.Status.BILLED:
            return False
        return super().has_delete_permission(request, obj)
