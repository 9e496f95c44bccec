"""Emails about bill runs: the result to whoever started or scheduled the run, and documents
to their bill-to contacts after posting. Always sent after commit, never inside a lock."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone

from billruns.models import BillRun
from invoicing.models import BillingDocument

logger = logging.getLogger(__name__)
FAILURES_LISTED = 20
EMAIL_BATCH = 500


def recipient(run: BillRun):
    """The schedule's owner for a scheduled run, else the user who created it."""
    if run.schedule_id and run.schedule.owner_id:
        return run.schedule.owner
    return run.created_by


def run_link(run: BillRun) -> str:
    return f"{settings.SITE_URL}{run.get_absolute_url()}"


def send_run_finished(run: BillRun) -> bool:
    user = recipient(run)
    if user is None or not user.email:
        return False
    failures = list(
        run.failures.select_related("account").order_by("account_id", "id")[:FAILURES_LISTED]
    )
    context = {
        "run": run,
        "user": user,
        "failures": failures,
        "more_failures": max(run.number_of_failures - len(failures), 0),
        "link": run_link(run),
    }
    if run.status == BillRun.Status.ERROR:
        subject = f"Bill run {run.number} ended in error"
    elif run.number_of_failures:
        subject = (
            f"Bill run {run.number} completed with {run.number_of_failures} failed "
            f"account{'s' if run.number_of_failures != 1 else ''}"
        )
    else:
        subject = f"Bill run {run.number} completed"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("billruns/email/run_finished.txt", context),
        to=[user.email],
    )
    message.attach_alternative(
        render_to_string("billruns/email/run_finished.html", context), "text/html"
    )
    message.send()
    return True


def send_run_documents(run: BillRun) -> int:
    """Email every posted, not yet emailed document of the run to its bill-to address."""
    documents = (
        BillingDocument.objects.filter(
            bill_run=run, status=BillingDocument.Status.POSTED, emailed_at__isnull=True
        )
        .exclude(account__bill_to_email="")
        .select_related("account")
        .order_by("id")
    )
    if run.no_email_for_zero_amount:
        documents = documents.exclude(kind=BillingDocument.Kind.INVOICE, amount=0)
    sent = 0
    batch: list[BillingDocument] = []
    for document in documents.iterator(chunk_size=EMAIL_BATCH):
        batch.append(document)
        if len(batch) == EMAIL_BATCH:
            sent += _send_documents(batch)
            batch = []
    if batch:
        sent += _send_documents(batch)
    return sent


def _send_documents(documents: list[BillingDocument]) -> int:
    messages = []
    for document in documents:
        context = {"document": document, "account": document.account}
        messages.append(
            EmailMultiAlternatives(
                subject=f"{document.get_kind_display()} {document.number}",
                body=render_to_string("billruns/email/document.txt", context),
                to=[document.account.bill_to_email],
            )
        )
    with get_connection() as connection:
        sent = connection.send_messages(messages) or 0
    BillingDocument.objects.filter(id__in=[d.pk for d in documents]).update(
        emailed_at=timezone.now()
    )
    return sent
