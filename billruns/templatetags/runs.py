"""Stored run values as people read them: the pages show labels, never "PostInProgress" or
"OneTime" (exports, the API and the admin keep Zuora's words, DESIGN §3)."""

from django import template

from accounts.models import Charge
from billruns.models import BillRun

register = template.Library()
STATUS_LABELS = dict(BillRun.Status.choices)
CHARGE_TYPE_LABELS = dict(Charge.ChargeType.choices)


@register.filter
def run_status_label(status: str) -> str:
    """A run status's label; a History word that is no status ("Deleted") as it is."""
    return str(STATUS_LABELS.get(status, status))


@register.filter
def charge_type_labels(charge_types) -> str:
    """A run's, a preview's or a schedule's included charge types: "One-time, Recurring"."""
    return ", ".join(str(CHARGE_TYPE_LABELS.get(t, t)) for t in charge_types or ())
