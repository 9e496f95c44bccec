"""Bill runs and their bookkeeping, for inspection; schedules, for maintenance.

Runs are created, executed, posted, canceled and deleted by services (DESIGN §4), so the admin
adds none, deletes none and changes no status: a Pending run's name is its one hand edit.
Chunks, failures and events are written by execution alone and are view-only. Schedules are
saved and deleted through the same services as their pages, which keep their django-q2
Schedules in step.
"""

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from billruns.models import (
    BillingPreviewFailure,
    BillingPreviewRun,
    BillRun,
    BillRunChunk,
    BillRunEvent,
    BillRunFailure,
    BillRunSchedule,
)
from billruns.schedules import services as schedules
from core.admin import (
    EditableFieldsOnlyAdmin,
    ViewOnlyAdmin,
    ViewOnlyTabularInline,
    changelist_link,
)

ALERT = "\u26a0"


class BillRunEventInline(ViewOnlyTabularInline):
    model = BillRunEvent
    verbose_name_plural = "history"
    fields = ("at", "from_status", "to_status", "actor", "message")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(BillRun)
class BillRunAdmin(EditableFieldsOnlyAdmin):
    actions = None
    list_display = (
        "number",
        "name",
        "status",
        "failed_accounts",
        "run_type",
        "target_type",
        "invoice_date",
        "target_date",
        "number_of_accounts",
        "number_of_invoices",
        "number_of_credit_memos",
        "created_by",
        "created_at",
    )
    list_select_related = ("created_by",)
    list_filter = ("status", "run_type", "target_type", "auto_post")
    search_fields = ("number", "name")
    search_help_text = "Bill run number or name."
    date_hierarchy = "target_date"
    list_per_page = 50
    raw_id_fields = ("account", "schedule", "retry_of")
    fieldsets = (
        (None, {"fields": ("number", "name", "status", "failures_summary", "error_message")}),
        (
            "Scope",
            {
                "fields": (
                    "run_type",
                    "target_type",
                    "account",
                    "batches",
                    "bill_cycle_day",
                    "charge_types",
                    "schedule",
                    "retry_of",
                )
            },
        ),
        ("Dates", {"fields": ("invoice_date", "target_date")}),
        ("Options", {"fields": ("auto_post", "auto_email", "no_email_for_zero_amount")}),
        (
            "Results",
            {
                "fields": (
                    "number_of_accounts",
                    "documents_summary",
                    "number_of_zero_amount_invoices",
                    "number_of_late_usage",
                    "invoice_amount",
                    "credit_memo_amount",
                    "amounts_by_currency",
                    "progress",
                    "total_time_ms",
                )
            },
        ),
        (
            "Audit",
            {
                "fields": (
                    "created_by",
                    "created_at",
                    "updated_by",
                    "updated_at",
                    "executed_at",
                    "completed_at",
                    "posted_at",
                    "posted_by",
                    "canceled_at",
                    "canceled_by",
                    "idempotency_key",
                    "lease_until",
                    "rolled_back_through",
                ),
                "classes": ("collapse",),
            },
        ),
    )
    editable_fields = frozenset({"name"})
    inlines = (BillRunEventInline,)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "account",
                "schedule",
                "retry_of",
                "created_by",
                "updated_by",
                "posted_by",
                "canceled_by",
            )
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Only Canceled and Error runs may go, with their documents and an audit entry: that is
        # the delete service's job, not a cascade from here.
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="Failures", ordering="number_of_failures")
    def failed_accounts(self, obj):
        # The stored counter, not a count of failure rows: one query per listed run otherwise.
        if obj.has_failures:
            return format_html(
                '<span title="Failed accounts">{} {}</span>', ALERT, obj.number_of_failures
            )
        return "0"

    @admin.display(description="Failed accounts or subscriptions")
    def failures_summary(self, obj):
        if not obj.has_failures:
            return "None"
        return format_html(
            "{} {}",
            ALERT,
            changelist_link(
                "admin:billruns_billrunfailure_changelist",
                "bill_run__id__exact",
                obj.pk,
                f"{obj.number_of_failures} failed",
            ),
        )

    @admin.display(description="Documents")
    def documents_summary(self, obj):
        return format_html(
            "{} · {}",
            changelist_link(
                "admin:invoicing_invoice_changelist",
                "bill_run__id__exact",
                obj.pk,
                f"{obj.number_of_invoices} invoices",
            ),
            changelist_link(
                "admin:invoicing_creditmemo_changelist",
                "bill_run__id__exact",
                obj.pk,
                f"{obj.number_of_credit_memos} credit memos",
            ),
        )

    @admin.display(description="Progress")
    def progress(self, obj):
        return changelist_link(
            "admin:billruns_billrunchunk_changelist",
            "bill_run__id__exact",
            obj.pk,
            f"{obj.chunks_done} of {obj.chunks_total} chunks",
        )


@admin.register(BillRunChunk)
class BillRunChunkAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "bill_run",
        "sequence",
        "status",
        "first_account_id",
        "last_account_id",
        "attempts",
        "lease_until",
        "number_of_accounts",
        "number_of_invoices",
        "number_of_credit_memos",
        "number_of_failures",
        "duration_ms",
    )
    list_select_related = ("bill_run",)
    list_filter = ("status",)
    search_fields = ("bill_run__number",)
    search_help_text = "Bill run number."
    # The model orders by the run's own ordering, a join; the primary key needs none.
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = 100

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("bill_run")


@admin.register(BillRunFailure)
class BillRunFailureAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "bill_run",
        "account",
        "subscription",
        "charge",
        "error_code",
        "message",
        "created_at",
    )
    list_select_related = ("bill_run", "account", "subscription", "charge")
    list_filter = ("error_code",)
    search_fields = ("bill_run__number", "account__number", "account__name", "error_code")
    search_help_text = "Bill run number, account number or name, or error code."
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = 100

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("bill_run", "account", "subscription", "charge")
        )


@admin.register(BillRunEvent)
class BillRunEventAdmin(ViewOnlyAdmin):
    # The audit trail: it outlives deleted runs, so the run is named by its kept number.
    list_display = ("at", "bill_run_number", "from_status", "to_status", "actor", "message")
    list_select_related = ("actor",)
    list_filter = ("to_status",)
    search_fields = ("bill_run_number", "message")
    search_help_text = "Bill run number or message."
    show_full_result_count = False
    list_per_page = 100

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("bill_run", "actor")


class BillRunScheduleForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        dates = {field: cleaned.get(field) for field in ("starts_on", "ends_on")}
        for field, error in schedules.date_errors(**dates, today=timezone.localdate()).items():
            self.add_error(field, error)
        return cleaned


@admin.register(BillRunSchedule)
class BillRunScheduleAdmin(admin.ModelAdmin):
    form = BillRunScheduleForm
    list_display = (
        "name",
        "enabled",
        "frequency",
        "run_time",
        "starts_on",
        "ends_on",
        "target_type",
        "next_run_at",
        "owner",
    )
    list_select_related = ("owner",)
    list_filter = ("enabled", "frequency", "target_type")
    search_fields = ("name",)
    search_help_text = "Schedule name."
    raw_id_fields = ("account",)
    fieldsets = (
        (None, {"fields": ("name", "enabled", "owner", "runs")}),
        (
            "When",
            {
                "fields": (
                    "frequency",
                    "weekdays",
                    "day_of_month",
                    "run_time",
                    "starts_on",
                    "ends_on",
                    "next_run_at",
                )
            },
        ),
        (
            "Scope",
            {"fields": ("target_type", "account", "batches", "bill_cycle_day", "charge_types")},
        ),
        ("Dates", {"fields": ("target_date_offset_days", "invoice_date_offset_days")}),
        ("Options", {"fields": ("auto_post", "auto_email", "no_email_for_zero_amount")}),
        ("Timestamps", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    # next_run_at is computed by the scheduler from the fields above.
    readonly_fields = ("runs", "next_run_at", "created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner", "account")

    def save_model(self, request, obj, form, change):
        fields = dict(form.cleaned_data)
        if not change:
            created = schedules.create_schedule(acting_user=request.user, **fields)
            # The admin goes on with its own instance: to log the addition and to redirect.
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        # Ticking or unticking Enabled is a pause or a resume, as on the schedule's page.
        enabled = fields.pop("enabled")
        schedules.update_schedule(schedule=obj, acting_user=request.user, **fields)
        change_enabled = schedules.resume_schedule if enabled else schedules.pause_schedule
        change_enabled(schedule=obj, acting_user=request.user)

    def delete_model(self, request, obj):
        schedules.delete_schedule(schedule=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for schedule in queryset:
            schedules.delete_schedule(schedule=schedule, acting_user=request.user)

    @admin.display(description="Runs")
    def runs(self, obj):
        if obj.pk is None:
            return "None yet"
        count = obj.runs.count()
        return changelist_link(
            "admin:billruns_billrun_changelist",
            "schedule__id__exact",
            obj.pk,
            f"{count} run{'' if count == 1 else 's'}",
        )


class BillingPreviewFailureInline(ViewOnlyTabularInline):
    model = BillingPreviewFailure
    fields = ("account", "subscription", "charge", "error_code", "message")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account", "subscription", "charge")


@admin.register(BillingPreviewRun)
class BillingPreviewRunAdmin(ViewOnlyAdmin):
    """Previews are made and canceled by their pages, the command and the API; the admin shows
    them, and may delete one (it writes nothing a run reads)."""

    list_display = (
        "number",
        "name",
        "status",
        "invoice_date",
        "target_date",
        "number_of_accounts",
        "number_of_invoices",
        "number_of_credit_memos",
        "number_of_failures",
        "created_by",
        "created_at",
    )
    list_select_related = ("created_by",)
    list_filter = ("status", "target_type")
    search_fields = ("number", "name")
    search_help_text = "Preview number or name."
    date_hierarchy = "created_at"
    inlines = (BillingPreviewFailureInline,)
    exclude = ("batches", "charge_types", "amounts_by_currency")
    readonly_fields = ("scope", "charge_types_list", "amounts")

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("billruns.delete_billingpreviewrun")

    @admin.display(description="Scope")
    def scope(self, obj):
        return obj.scope_label

    @admin.display(description="Charge types")
    def charge_types_list(self, obj):
        return ", ".join(obj.charge_types)

    @admin.display(description="Amounts by currency")
    def amounts(self, obj):
        return "; ".join(
            f"{currency}: invoices {totals['invoice']}, credit memos {totals['credit_memo']}"
            for currency, totals in obj.amounts_by_currency.items()
        )
