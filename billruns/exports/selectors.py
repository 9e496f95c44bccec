"""The queries behind the export pages and export_bill_runs."""

from collections.abc import Iterable

from django.db.models import QuerySet

from billruns.exports.files import ExportError
from billruns.filters import BillRunFilter
from billruns.models import BillRun
from invoicing.models import BillingDocument


def filtered_bill_runs(data, *, statuses: Iterable[str] = ()) -> QuerySet[BillRun]:
    """The runs the list page shows for these GET parameters, in the page's order.

    Invalid filters raise ExportError rather than being dropped: an export silently wider than
    asked for is worse than none.
    """
    runs = BillRun.objects.all()
    statuses = list(statuses)
    if statuses:
        runs = runs.filter(status__in=statuses)
    filterset = BillRunFilter(data, queryset=runs)
    if not filterset.is_valid():
        raise ExportError(_first_error(filterset))
    return filterset.qs


def _first_error(filterset: BillRunFilter) -> str:
    for name, errors in filterset.errors.items():
        label = filterset.form.fields[name].label if name in filterset.form.fields else name
        return f"Invalid filter {label or name}: {' '.join(errors)}"
    return "Invalid filters."


def bill_run_numbers() -> QuerySet[BillRun]:
    """Runs with their number only: what a document export's file name needs."""
    return BillRun.objects.only("number")


def run_documents(*, run: BillRun) -> QuerySet[BillingDocument]:
    """The run's invoices and credit memos, by number."""
    return BillingDocument.objects.filter(bill_run=run).order_by("number", "id")
