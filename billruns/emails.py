"""Emails about bill runs: the result to whoever started or scheduled the run, and documents
to their bill-to contacts after posting. Always sent after commit, never inside a lock."""

import logging
from itertools import groupby
from operator import attrgetter

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone

from billruns.models import BillRun
from core.iterables import batched
from invoicing.models import BillingDocument
from invoicing.pdf import render_document_pdf
from invoicing.selectors import document_lines

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


def documents_to_email(run: BillRun, *, resend: bool = False):
    """The run's posted documents that go to their bill-to contacts: not yet emailed (with
    `resend`, those too), with an address, and no zero-amount invoice when the run says so."""
    documents = BillingDocument.objects.filter(bill_run=run, status=BillingDocument.Status.POSTED)
    if not resend:
        documents = documents.filter(emailed_at__isnull=True)
    documents = documents.exclude(account__bill_to_email="")
    if run.no_email_for_zero_amount:
        documents = documents.exclude(kind=BillingDocument.Kind.INVOICE, amount=0)
    return documents


def send_run_documents(run: BillRun, *, resend: bool = False) -> int:
    """Email every document `documents_to_email` selects, each with its PDF."""
    documents = documents_to_email(run, resend=resend).select_related("account").order_by("id")
    return sum(
        _send_documents(batch)
        for batch in batched(documents.iterator(chunk_size=EMAIL_BATCH), EMAIL_BATCH)
    )


def _send_documents(documents: list[BillingDocument]) -> int:
    """Email one batch, each document with its PDF attached.

    The batch's lines come from one query, read in document order, so memory holds one
    document's lines (up to 20,000) and one PDF at a time, not the whole batch's.
    """
    documents = sorted(documents, key=attrgetter("pk"))
    groups = groupby(
        document_lines(document_ids=[d.pk for d in documents]).iterator(chunk_size=2_000),
        key=attrgetter("document_id"),
    )
    group = next(groups, None)
    sent_ids: list[int] = []
    try:
        with get_connection() as connection:
            for document in documents:
                lines = []
                if group is not None and group[0] == document.pk:
                    lines = list(group[1])
                    group = next(groups, None)
                message = _document_message(document, lines)
                if message is not None and connection.send_messages([message]):
                    sent_ids.append(document.pk)
    finally:
        # Whatever stopped the batch, what went out is marked, so it is not sent twice.
        BillingDocument.objects.filter(id__in=sent_ids).update(emailed_at=timezone.now())
    return len(sent_ids)


def _document_message(document: BillingDocument, lines) -> EmailMultiAlternatives | None:
    try:
        pdf = render_document_pdf(document, lines=lines)
    except Exception:
        # One document that cannot be drawn must not keep the others from their customers; it
        # stays unmarked, so it can be sent once fixed.
        logger.exception("Could not render the PDF of %s; not emailed", document)
        return None
    context = {"document": document, "account": document.account}
    message = EmailMultiAlternatives(
        subject=f"{document.get_kind_display()} {document.number}",
        body=render_to_string("billruns/email/document.txt", context),
        to=[document.account.bill_to_email],
    )
    message.attach(f"{document.number}.pdf", pdf, "application/pdf")
    return message
