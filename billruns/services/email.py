"""Email a run's posted documents to their bill-to contacts, on request (the API's
`POST /bill-runs/{key}/emails`; auto-email does the same after posting)."""

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from billruns.emails import documents_to_email
from billruns.errors import IllegalTransition
from billruns.models import BillRun
from billruns.services.lifecycle import record
from invoicing.models import BillingDocument


def email_bill_run(*, run: BillRun, acting_user, resend: bool = False) -> int:
    """Queue the emails of the run's posted documents (as Zuora: posted ones only), and say
    how many will go: those not emailed yet, or with `resend` every posted one again.
    Writes a History row so the run's page shows who asked."""
    posted = BillingDocument.objects.filter(bill_run=run, status=BillingDocument.Status.POSTED)
    if not posted.exists():
        raise IllegalTransition(
            f"{run.number} has no posted document: only posted documents are emailed."
        )
    count = documents_to_email(run, resend=resend).count()
    with transaction.atomic():
        record(
            run,
            from_status=run.status,
            to_status=run.status,
            actor=acting_user,
            message=f"{'Resent' if resend else 'Emailed'} {count} posted documents",
        )
        asked_at = timezone.now().isoformat()
        transaction.on_commit(
            lambda: async_task("billruns.tasks.email_run_documents", run.pk, resend, asked_at)
        )
    return count
