"""Delete a Canceled or Error run with its canceled documents; its History stays."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from billruns.errors import IllegalTransition
from billruns.models import BillRun, BillRunEvent
from billruns.services.lifecycle import TRANSITIONS, Action, can, record, refuse
from invoicing.models import BillingDocument, DocumentLine


def delete_bill_run(*, run: BillRun, acting_user, now: dt.datetime | None = None) -> None:
    """Removed with its canceled documents; the History rows outlive it (DESIGN §4)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = BillRun.objects.select_for_update().get(pk=run.pk)
        if not can(locked, Action.DELETE):
            raise refuse(run, Action.DELETE)
        documents = BillingDocument.objects.filter(bill_run=run)
        if documents.exclude(status=BillingDocument.Status.CANCELED).exists():
            raise IllegalTransition(
                f"{run.number} still has documents that are not canceled: cancel it first."
            )
        DocumentLine.objects.filter(document__bill_run=run).delete()
        documents.delete()
        record(
            run,
            from_status=locked.status,
            to_status=TRANSITIONS[Action.DELETE].target,
            actor=acting_user,
            now=now,
        )
        BillRunEvent.objects.filter(bill_run=run).update(bill_run=None)
        run.delete()
