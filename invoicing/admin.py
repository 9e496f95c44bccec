"""Billing documents and their lines: shown, barely ever edited.

Bill runs write documents and their services post and cancel them, so nothing here adds,
deletes or changes a document's status. A Draft document's due date is the one hand edit.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm

from accounts.admin import CurrencyFilter
from core.admin import (
    BIG_TABLE_PAGE,
    EditableFieldsOnlyAdmin,
    ViewOnlyAdmin,
    ViewOnlyTabularInline,
    changelist_link,
)
from invoicing.models import (
    BillingDocument,
    CreditMemo,
    DocumentLine,
    Invoice,
)

# Above this many lines a document's page links to its lines instead of listing them inline.
INLINE_LINE_LIMIT = 100


# What a line bills, as every list of lines shows it.
LINE_AMOUNT_FIELDS = (
    "service_start",
    "service_end",
    "quantity",
    "unit_price",
    "amount",
    "canceled",
)


class DocumentLineInline(ViewOnlyTabularInline):
    model = DocumentLine
    fields = ("description", "charge", "subscription", "charge_type", *LINE_AMOUNT_FIELDS)
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("charge", "subscription")


class DraftDocumentForm(ModelForm):
    def _post_clean(self):
        super()._post_clean()
        # Read-only fields are left out of the form's constraint checks, yet the due date's
        # constraint compares it with the (read-only) document date.
        try:
            self.instance.validate_constraints()
        except ValidationError as error:
            self.add_error(None, error)


@admin.register(BillingDocument)
class BillingDocumentAdmin(EditableFieldsOnlyAdmin):
    form = DraftDocumentForm
    # Documents are voided by canceling (which rolls charges back), never deleted by hand.
    actions = None
    list_display = (
        "number",
        "kind",
        "account",
        "bill_run",
        "status",
        "document_date",
        "due_date",
        "currency",
        "amount",
    )
    list_select_related = ("account", "bill_run")
    list_filter = ("status", "kind", CurrencyFilter)
    search_fields = ("number", "account__number", "account__name")
    search_help_text = "Document number, account number or account name."
    sortable_by = ("number", "document_date")
    # Newest first by primary key, like the rows were written: the admin adds its own tie-breaks
    # to the model's (document_date, id) ordering, which its index then no longer serves.
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = BIG_TABLE_PAGE
    raw_id_fields = ("account", "bill_run")
    fieldsets = (
        (None, {"fields": ("number", "kind", "status", "account", "bill_run")}),
        ("Amount", {"fields": ("currency", "amount", "lines_summary")}),
        ("Dates", {"fields": ("document_date", "target_date", "due_date")}),
        ("Posting", {"fields": ("posted_at", "posted_by", "emailed_at")}),
        ("Timestamps", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    editable_fields = frozenset({"due_date"})

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account", "bill_run", "posted_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != BillingDocument.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_inlines(self, request, obj):
        if obj is None or self.line_count(obj) > INLINE_LINE_LIMIT:
            return ()
        return (DocumentLineInline,)

    def line_count(self, obj) -> int:
        # Asked twice per page (inlines and the summary field); count once.
        if not hasattr(obj, "_admin_line_count"):
            obj._admin_line_count = obj.lines.count()
        return obj._admin_line_count

    @admin.display(description="Lines")
    def lines_summary(self, obj):
        count = self.line_count(obj)
        return changelist_link(
            "admin:invoicing_documentline_changelist",
            "document__id__exact",
            obj.pk,
            f"{count} line{'' if count == 1 else 's'}",
        )


@admin.register(Invoice)
class InvoiceAdmin(BillingDocumentAdmin):
    list_display = tuple(name for name in BillingDocumentAdmin.list_display if name != "kind")
    list_filter = ("status", CurrencyFilter)


@admin.register(CreditMemo)
class CreditMemoAdmin(InvoiceAdmin):
    pass


@admin.register(DocumentLine)
class DocumentLineAdmin(ViewOnlyAdmin):
    # Lines are the document's amount: as read-only as the document's own amount.
    list_display = ("id", "document", "description", "charge", "charge_type", *LINE_AMOUNT_FIELDS)
    list_select_related = ("document", "charge")
    list_filter = ("charge_type", "canceled")
    search_fields = ("document__number", "charge__number", "description")
    search_help_text = "Document number, charge number or description."
    sortable_by = ("id",)
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = BIG_TABLE_PAGE

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("document", "charge", "subscription")
