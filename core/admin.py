"""Admin bases every app shares, and the number sequences (view-only).

These tables reach millions of rows: lists never count the whole table twice and foreign keys are
raw ids. Billing transitions are never made here: they are services.
"""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.messages import SUCCESS
from django.urls import reverse
from django.utils.html import format_html

from core.models import NumberSequence
from core.numbering import format_number

BIG_TABLE_PAGE = 50


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows that only services write; nobody, superusers included, edits them by hand."""

    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyTabularInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def changelist_link(viewname: str, lookup: str, pk, text: str) -> str:
    url = f"{reverse(viewname)}?{lookup}={pk}"
    return format_html('<a href="{}">{}</a>', url, text)


class EditableFieldsOnlyAdmin(admin.ModelAdmin):
    """Every field of the fieldsets is read-only but those named in `editable_fields`."""

    editable_fields: frozenset[str] = frozenset()

    def get_readonly_fields(self, request, obj=None):
        return [
            name
            for _, options in self.fieldsets
            for name in options["fields"]
            if name not in self.editable_fields
        ]


class NumberedAdmin(admin.ModelAdmin):
    """For NumberedModel: the number is optional on add (the sequence fills it) and fixed after."""

    show_full_result_count = False
    list_per_page = BIG_TABLE_PAGE

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and "number" not in fields:
            # Documents, exports and other systems refer to the number once it exists.
            fields = ("number", *fields)
        return fields


@admin.register(NumberSequence)
class NumberSequenceAdmin(ViewOnlyAdmin):
    # Sequences move only inside the transactions that write numbered rows: a hand edit
    # would reuse numbers or leave a hole in a gapless series.
    list_display = ("prefix", "last_value", "last_number")
    search_fields = ("prefix",)

    @admin.display(description="Last number")
    def last_number(self, obj):
        return format_number(obj.prefix, obj.last_value)


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginFailureAdmin(AccessAttemptAdmin):
    """django-axes' failed logins (one row per username and address), with an unlock action:
    forgetting a pair's failures lets it log in again at once."""

    actions = ["unlock", *AccessAttemptAdmin.actions]

    @admin.action(description="Unlock: forget these failed logins", permissions=["delete"])
    def unlock(self, request, queryset):
        pairs = sorted({f"{row.username} from {row.ip_address}" for row in queryset})
        queryset.delete()
        self.message_user(
            request, f"Unlocked {len(pairs)}: {', '.join(pairs)} can log in again.", SUCCESS
        )
