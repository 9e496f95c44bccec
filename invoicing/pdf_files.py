"""Long documents' PDFs, rendered once by a worker and served from the database.

A document of more than `settings.BILLCYCLE_PDF_WORKER_LINES` lines takes longer to draw than a
request should wait, so a request asks for it (`request_pdf`) and a django-q2 worker draws it
(`render_stored_pdf`); the page polls until it is there. Asking again while it is being drawn
queues nothing more: the row's status is changed by conditional updates, and only the request
whose update took effect enqueues. A failed drawing stays Failed, saying why, until someone
asks to try again (`retry=True`).
"""

import datetime as dt
import hashlib
import logging
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from invoicing.models import BillingDocument, StoredPdf
from invoicing.pdf import render_document_pdf
from invoicing.selectors import document_detail

logger = logging.getLogger(__name__)

# Bump when the PDF's layout changes, so stored files are drawn again.
LAYOUT = "2"
# Drawings of one request whose worker died before the PDF is Failed (a retry starts again).
MAX_ATTEMPTS = 3
Status = StoredPdf.Status


def rendered_by_worker(line_count: int) -> bool:
    return line_count > settings.BILLCYCLE_PDF_WORKER_LINES


def pdf_version(document: BillingDocument, line_count: int) -> str:
    """A fingerprint of everything the PDF shows but the lines (written once, never edited),
    the settings it is printed with included."""
    account = document.account
    shown = [
        LAYOUT,
        document.kind,
        document.number,
        document.status,
        document.currency,
        document.amount,
        document.document_date,
        document.due_date,
        document.target_date,
        account.number,
        account.name,
        account.bill_to_name,
        account.bill_to_email,
        getattr(settings, "BILLCYCLE_ISSUER_NAME", "Billcycle"),
        # How every amount, unit price and quantity is written (core.templatetags.money).
        settings.MONEY_LOCALE,
        line_count,
    ]
    return hashlib.sha256(repr(shown).encode()).hexdigest()


def _stale_before(now: dt.datetime) -> dt.datetime:
    """A rendering claimed longer ago than a task may run belongs to a worker that died."""
    return now - dt.timedelta(seconds=settings.Q_CLUSTER["timeout"])


def _enqueue(document_id: int) -> None:
    transaction.on_commit(lambda: async_task("invoicing.tasks.render_pdf", document_id))


class DocumentPdf(NamedTuple):
    """A document's PDF as a request finds it."""

    content: bytes | None  # the file, when it can be sent now
    stored: StoredPdf | None  # a long document's drawing; None: short, drawn on request
    line_count: int


def document_pdf(document: BillingDocument, *, retry: bool = False) -> DocumentPdf:
    """A short document's PDF, drawn here; a long one's stored file once a worker has drawn
    it, asking for a drawing where there is none for the document as it is (`request_pdf`)."""
    line_count = document.lines.count()
    if not rendered_by_worker(line_count):
        return DocumentPdf(render_document_pdf(document), None, line_count)
    stored = request_pdf(document=document, line_count=line_count, retry=retry)
    content = stored_content(stored) if stored.status == Status.READY else None
    return DocumentPdf(content, stored, line_count)


def request_pdf(
    *, document: BillingDocument, line_count: int, retry: bool = False, now=None
) -> StoredPdf:
    """The stored PDF of `document`, asking a worker to draw it when there is none for the
    document as it is now (or, with `retry`, when the last drawing failed). Never draws here."""
    now = now or timezone.now()
    version = pdf_version(document, line_count)
    try:
        # The file itself is read only to be served (`stored_content`), not at every poll.
        stored, created = StoredPdf.objects.defer("content").get_or_create(
            document=document, defaults={"version": version, "requested_at": now}
        )
    except IntegrityError:  # the document was deleted meanwhile
        raise BillingDocument.DoesNotExist from None
    if created:
        _enqueue(document.pk)
        return stored
    afresh = stored.version != version or (retry and stored.status == Status.FAILED)
    # A claim or a queued task older than a task may run was lost with its worker.
    lost = (stored.status == Status.RENDERING and stored.started_at < _stale_before(now)) or (
        stored.status == Status.PENDING and stored.requested_at < _stale_before(now)
    )
    # Conditional on what was read: of two requests at once, one acts.
    as_read = StoredPdf.objects.filter(
        pk=stored.pk, status=stored.status, requested_at=stored.requested_at
    )
    if lost and not afresh and stored.attempts >= MAX_ATTEMPTS:
        as_read.update(
            status=Status.FAILED,
            error=f"Its drawing stopped {stored.attempts} times without finishing (the worker "
            "was stopped, or ran out of time or memory).",
        )
        stored.refresh_from_db()
    elif afresh or lost:
        taken = as_read.update(
            status=Status.PENDING,
            version=version,
            content=None,
            error="",
            requested_at=now,
            started_at=None,
            rendered_at=None,
            attempts=0 if afresh else stored.attempts,
        )
        if taken:
            _enqueue(document.pk)
        stored.refresh_from_db()
    return stored


def stored_content(stored: StoredPdf) -> bytes | None:
    """The file of a Ready stored PDF (None if it was replaced meanwhile)."""
    content = (
        StoredPdf.objects.filter(pk=stored.pk, status=Status.READY, version=stored.version)
        .values_list("content", flat=True)
        .first()
    )
    return None if content is None else bytes(content)


def render_stored_pdf(*, document_id: int, now=None) -> str:
    """Draw a requested PDF and store it (the worker's side). Safe to run twice: the first
    run claims the request, a second finds nothing to do."""
    now = now or timezone.now()
    claimable = Q(status=Status.PENDING) | Q(
        status=Status.RENDERING, started_at__lt=_stale_before(now)
    )
    claimed = StoredPdf.objects.filter(claimable, pk=document_id).update(
        status=Status.RENDERING, started_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "nothing to do"
    attempt = StoredPdf.objects.filter(pk=document_id, status=Status.RENDERING, started_at=now)
    try:
        document = document_detail().get(pk=document_id)
        content = render_document_pdf(document)
        # The version of what was drawn: if the document changed while it was being drawn, the
        # next request sees the difference and asks again.
        version = pdf_version(document, document.lines.count())
    except Exception as error:
        logger.exception("Could not render the PDF of document %s", document_id)
        reason = str(error) or type(error).__name__
        attempt.update(status=Status.FAILED, error=reason[:500])
        return f"document {document_id}: failed ({reason[:200]})"
    # No row updated: a newer request replaced this one while it was drawn; its own task
    # draws the document as it is now.
    stored = attempt.update(
        status=Status.READY, content=content, version=version, rendered_at=timezone.now()
    )
    return f"document {document_id}: {len(content):,} bytes" if stored else "superseded"
