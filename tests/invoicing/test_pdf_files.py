"""A long document's PDF is drawn by a worker, once, stored, and served from the store; the
page says it is being prepared and offers the file when ready; a failure says so and can be
tried again."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from invoicing import pdf_files
from invoicing.models import BillingDocument, StoredPdf
from invoicing.services import post_document
from invoicing.tasks import render_pdf
from tests.factories import DocumentLineFactory
from tests.invoicing.test_pdf import needs_pdftotext, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def three_lines_is_long(settings):
    settings.BILLCYCLE_PDF_WORKER_LINES = 2


@pytest.fixture
def long_invoice():
    first = DocumentLineFactory(
        document__number="INV00000042",
        document__amount=Decimal("30.00"),
        description="Usage day 1",
        amount=Decimal("10.00"),
    )
    for day in (2, 3):
        DocumentLineFactory(
            document=first.document,
            charge=first.charge,
            description=f"Usage day {day}",
            service_start=dt.date(2026, 2, day),
            service_end=dt.date(2026, 2, day),
            amount=Decimal("10.00"),
        )
    return first.document


@pytest.fixture
def renders(monkeypatch):
    """The documents drawn, in order; `renders.fail` makes the next drawings raise it."""

    class Renders(list):
        fail: Exception | None = None

    drawn = Renders()
    real = pdf_files.render_document_pdf

    def render(document, **kwargs):
        drawn.append(document.number)
        if drawn.fail:
            raise drawn.fail
        return real(document, **kwargs)

    monkeypatch.setattr(pdf_files, "render_document_pdf", render)
    return drawn


def pdf_url(document):
    return reverse("invoicing:pdf", args=[document.pk])


def status_url(document):
    return reverse("invoicing:pdf_status", args=[document.pk])


def test_the_page_says_the_pdf_is_being_prepared_and_polls_for_it(
    logged_in, long_invoice, renders, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:  # the worker has not run yet
        response = logged_in.get(pdf_url(long_invoice))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "The PDF of INV00000042 is being prepared." in html
    assert "Its 3 lines take a worker a while to draw." in html
    assert f'hx-get="{status_url(long_invoice)}" hx-trigger="every 2s"' in html
    assert len(queued) == 1 and renders == []
    fragment = logged_in.get(status_url(long_invoice)).content.decode()
    assert "is being prepared" in fragment and "hx-trigger" in fragment
    assert "<script" not in fragment


def test_asking_again_while_it_is_prepared_queues_no_second_drawing(
    logged_in, long_invoice, renders, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        logged_in.get(pdf_url(long_invoice))
        logged_in.get(pdf_url(long_invoice))
        logged_in.get(status_url(long_invoice))
    assert len(queued) == 1
    # A task delivered twice draws once.
    assert render_pdf(long_invoice.pk).endswith("bytes")
    assert render_pdf(long_invoice.pk) == "nothing to do"
    assert renders == ["INV00000042"]


@needs_pdftotext
def test_once_drawn_the_page_offers_the_file_and_serves_it_without_drawing_again(
    logged_in, long_invoice, renders, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.get(pdf_url(long_invoice))  # the worker (sync mode) draws it
    fragment = logged_in.get(status_url(long_invoice)).content.decode()
    assert "The PDF of INV00000042 is ready." in fragment
    assert f'href="{pdf_url(long_invoice)}"' in fragment and "Download INV00000042.pdf" in fragment
    assert "hx-trigger" not in fragment  # polling stops
    for _ in range(2):
        response = logged_in.get(pdf_url(long_invoice))
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'attachment; filename="INV00000042.pdf"'
        assert "Usage day 3" in pdf_text(response.content)
    assert renders == ["INV00000042"]


@needs_pdftotext
def test_a_failed_drawing_says_so_and_is_drawn_again_on_request(
    logged_in, long_invoice, renders, django_capture_on_commit_callbacks
):
    renders.fail = RuntimeError("Font DejaVu Sans is missing.")
    with django_capture_on_commit_callbacks(execute=True):
        page = logged_in.get(pdf_url(long_invoice)).content.decode()
    # The page was drawn before the worker ran; the poll finds the failure.
    assert "is being prepared" in page
    fragment = logged_in.get(status_url(long_invoice)).content.decode()
    assert "The PDF of INV00000042 could not be prepared." in fragment
    assert "Font DejaVu Sans is missing." in fragment
    assert f'<form method="post" action="{pdf_url(long_invoice)}"' in fragment
    assert "Try again" in fragment and "hx-trigger" not in fragment
    # Looking again does not draw again: only Try again does.
    with django_capture_on_commit_callbacks(execute=True):
        assert "could not be prepared" in logged_in.get(pdf_url(long_invoice)).content.decode()
    assert renders == ["INV00000042"]
    renders.fail = None
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(pdf_url(long_invoice))
    assert response.status_code == 302 and response["Location"] == pdf_url(long_invoice)
    response = logged_in.get(pdf_url(long_invoice))
    assert response["Content-Type"] == "application/pdf"
    assert "Usage day 1" in pdf_text(response.content)
    assert renders == ["INV00000042", "INV00000042"]


@needs_pdftotext
def test_a_stored_pdf_is_drawn_again_once_the_document_is_posted(
    logged_in, operator, long_invoice, renders, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.get(pdf_url(long_invoice))
    assert "DRAFT" in pdf_text(logged_in.get(pdf_url(long_invoice)).content)
    post_document(document=long_invoice, acting_user=operator)
    with django_capture_on_commit_callbacks(execute=True):
        assert "is being prepared" in logged_in.get(pdf_url(long_invoice)).content.decode()
    response = logged_in.get(pdf_url(long_invoice))
    assert "DRAFT" not in pdf_text(response.content)
    assert len(renders) == 2


def test_a_drawing_whose_worker_died_is_queued_again(
    logged_in, long_invoice, renders, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks():
        logged_in.get(pdf_url(long_invoice))
    long_ago = timezone.now() - dt.timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)
    StoredPdf.objects.filter(pk=long_invoice.pk).update(
        status=StoredPdf.Status.RENDERING, started_at=long_ago
    )
    with django_capture_on_commit_callbacks() as queued:
        logged_in.get(status_url(long_invoice))
        logged_in.get(status_url(long_invoice))
    assert len(queued) == 1


class WorkerKilled(BaseException):
    """What a worker killed mid-drawing looks like to the code: nothing after it runs."""


def test_a_drawing_whose_worker_keeps_dying_ends_failed_and_can_be_tried_again(
    logged_in, long_invoice, renders, django_capture_on_commit_callbacks, settings
):
    """A document whose drawing kills its worker every time (out of memory, past the task's
    timeout) is not queued forever: after three drawings it says so, and Try again starts
    afresh."""
    with django_capture_on_commit_callbacks():
        logged_in.get(pdf_url(long_invoice))
    timeout = dt.timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)
    renders.fail = WorkerKilled()
    requeued = []
    for attempt in range(3):
        claimed_at = timezone.now() - timeout
        with pytest.raises(WorkerKilled):
            pdf_files.render_stored_pdf(document_id=long_invoice.pk, now=claimed_at)
        assert StoredPdf.objects.get(pk=long_invoice.pk).attempts == attempt + 1
        with django_capture_on_commit_callbacks() as queued:
            page = logged_in.get(status_url(long_invoice)).content.decode()
        requeued.append(len(queued))
    assert requeued == [1, 1, 0]  # queued again twice; the third death ends it
    assert StoredPdf.objects.get(pk=long_invoice.pk).status == StoredPdf.Status.FAILED
    assert "stopped 3 times without finishing" in page
    renders.fail = None
    with django_capture_on_commit_callbacks() as queued:
        logged_in.post(pdf_url(long_invoice))
    assert len(queued) == 1
    assert StoredPdf.objects.get(pk=long_invoice.pk).attempts == 0


def test_a_short_document_is_drawn_in_the_request_and_not_stored(logged_in, long_invoice, settings):
    settings.BILLCYCLE_PDF_WORKER_LINES = 3
    response = logged_in.get(pdf_url(long_invoice))
    assert response["Content-Type"] == "application/pdf"
    assert "is ready" in logged_in.get(status_url(long_invoice)).content.decode()
    assert not StoredPdf.objects.exists()


def test_a_viewer_may_ask_for_it_and_a_stranger_may_not(client, viewer, long_invoice):
    from tests.factories import UserFactory

    client.force_login(viewer)
    assert client.get(pdf_url(long_invoice)).status_code == 200
    assert client.get(status_url(long_invoice)).status_code == 200
    client.force_login(UserFactory())
    assert client.get(pdf_url(long_invoice)).status_code == 403
    assert client.get(status_url(long_invoice)).status_code == 403
    assert client.post(pdf_url(long_invoice)).status_code == 403


def test_deleting_a_document_deletes_its_stored_pdf(
    logged_in, long_invoice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.get(pdf_url(long_invoice))
    assert StoredPdf.objects.filter(status=StoredPdf.Status.READY).count() == 1
    BillingDocument.objects.filter(pk=long_invoice.pk).delete()
    assert not StoredPdf.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_document_deleted_while_its_pdf_is_asked_for_is_a_404(
    client, operator, long_invoice, monkeypatch
):
    """Its run deleted between the page's read and the stored PDF's row: the row cannot be
    written (request_pdf says the document does not exist), and the page says not found."""
    client.force_login(operator)
    real = pdf_files.rendered_by_worker

    def deleted_meanwhile(line_count):
        BillingDocument.objects.filter(pk=long_invoice.pk).delete()
        return real(line_count)

    monkeypatch.setattr(pdf_files, "rendered_by_worker", deleted_meanwhile)
    assert client.get(pdf_url(long_invoice)).status_code == 404


@needs_pdftotext
def test_a_stored_pdf_is_drawn_again_once_the_money_locale_changes(
    logged_in, long_invoice, renders, django_capture_on_commit_callbacks, settings
):
    """BILLCYCLE_MONEY_LOCALE writes the PDF's amounts, as the issuer's name heads it: a stored
    file drawn under another locale is not the document as it is printed now."""
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.get(pdf_url(long_invoice))
    assert "30.00" in pdf_text(logged_in.get(pdf_url(long_invoice)).content)
    settings.MONEY_LOCALE = "de_DE"
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.get(pdf_url(long_invoice))
    assert response["Content-Type"].startswith("text/html")  # not the file drawn before
    assert "is being prepared" in response.content.decode()
    text = pdf_text(logged_in.get(pdf_url(long_invoice)).content)
    assert "30,00" in text and "30.00" not in text
    assert len(renders) == 2
