"""Emails about bill runs: the result to whoever started or scheduled the run, and documents
to their bill-to contacts after posting. Always sent after commit, never inside a lock."""

import datetime as dt
import logging
from itertools import groupby
from operator import attrgetter

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
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


def send_run_documents(
    run: BillRun, *, resend: bool = False, asked_at: dt.datetime | None = None
) -> int:
    """Email every document `documents_to_email` selects, each with its PDF.

    Each document is claimed before it is sent, so two tasks of one run at once (auto-email
    after the last draft, the operator's *Email documents*) never send a customer the same
    document twice: `emailed_at` is set by a conditional update, and only the task whose update
    took effect sends. With `resend`, a document counts as unsent when it was last emailed
    before `asked_at` (when the resend was asked for), so a resend asked twice sends once."""
    asked_at = asked_at or timezone.now()
    documents = documents_to_email(run, resend=resend).select_related("account").order_by("id")
    return sum(
        _send_documents(batch, unsent_before=asked_at if resend else None)
        for batch in batched(documents.iterator(chunk_size=EMAIL_BATCH), EMAIL_BATCH)
    )


def _send_documents(documents: list[BillingDocument], *, unsent_before=None) -> int:
    """Email one batch, each document with its PDF attached, each claimed just before it goes.

    The batch's lines come from one query, read in document order, so memory holds one
    document's lines (up to 20,000) and one PDF at a time, not the whole batch's. A document
    that cannot be drawn or sent is given back (its `emailed_at` as it was), so it can be sent
    later; a worker killed between the claim and the mail server's answer loses that one
    document's email rather than risk sending it twice.
    """
    documents = sorted(documents, key=attrgetter("pk"))
    groups = groupby(
        document_lines(document_ids=[d.pk for d in documents]).iterator(chunk_size=2_000),
        key=attrgetter("document_id"),
    )
    group = next(groups, None)
    sent = 0
    with get_connection() as connection:
        for document in documents:
            lines = []
            if group is not None and group[0] == document.pk:
                lines = list(group[1])
                group = next(groups, None)
            token = _claim(document, unsent_before=unsent_before)
            if token is None:  # another task sent it meanwhile
                continue
            went = False
            try:
                message = _document_message(document, lines)
                went = message is not None and bool(connection.send_messages([message]))
            finally:
                if went:
                    sent += 1
                else:
                    BillingDocument.objects.filter(pk=document.pk, emailed_at=token).update(
                        emailed_at=document.emailed_at
                    )
    return sent


def _claim(document: BillingDocument, *, unsent_before) -> dt.datetime | None:
    """Mark the document emailed if no other task has: the time it was marked, or None."""
    unsent = Q(emailed_at__isnull=True)
    if unsent_before is not None:
        unsent |= Q(emailed_at__lt=unsent_before)
    token = timezone.now()
    claimed = BillingDocument.objects.filter(unsent, pk=document.pk).update(emailed_at=token)
    return token if claimed else None


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
