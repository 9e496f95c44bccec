"""Reads of the schedule pages: each page's queries, in a fixed number whatever the row count."""

from django.db.models import Count, QuerySet

from billruns.models import BillRun, BillRunSchedule

RUN_FIELDS = [
    "number",
    "name",
    "status",
    "invoice_date",
    "target_date",
    "number_of_accounts",
    "number_of_invoices",
    "number_of_credit_memos",
    "number_of_failures",
    "created_at",
]


def schedules() -> QuerySet[BillRunSchedule]:
    """Schedules with the owner and account their pages and forms show (joined, not looked up)."""
    return BillRunSchedule.objects.select_related("owner", "account")


def schedule_list() -> QuerySet[BillRunSchedule]:
    """The list page: every schedule with how many runs it created, by name."""
    return schedules().annotate(run_count=Count("runs")).order_by("name", "id")


def schedule_runs(*, schedule: BillRunSchedule) -> QuerySet[BillRun]:
    """The runs a schedule created, as its page lists them (newest first, BillRun's order)."""
    return BillRun.objects.filter(schedule=schedule).only(*RUN_FIELDS)
