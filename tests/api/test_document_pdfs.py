"""`GET /api/v1/invoices/{key}/pdf` of a long document: 202 with Retry-After while a worker
draws it, then the stored file; 409 after a failed drawing, and POST draws it again."""

import pytest

from invoicing.models import StoredPdf
from tests.invoicing.test_pdf_files import long_invoice, renders, three_lines_is_long  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/api/v1/invoices/INV00000042/pdf"


def test_a_long_pdf_is_accepted_then_served_once_drawn(
    viewer_api,
    long_invoice,  # noqa: F811
    renders,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as queued:
        first = viewer_api.get(URL)
        again = viewer_api.get(URL, HTTP_ACCEPT="application/pdf")
    for response in (first, again):
        assert response.status_code == 202
        assert response["Retry-After"] == "5"
        body = response.json()
        assert body["success"] is True and body["status"] == "Pending"
        assert "INV00000042 (3 lines) is being drawn" in body["message"]
    assert len(queued) == 1
    queued[0]()  # the worker
    response = viewer_api.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert renders == ["INV00000042"]


def test_a_failed_drawing_is_a_409_until_posted_again(
    viewer_api,
    long_invoice,  # noqa: F811
    renders,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    renders.fail = RuntimeError("Out of memory.")
    with django_capture_on_commit_callbacks(execute=True):
        viewer_api.get(URL)
    response = viewer_api.get(URL)
    assert response.status_code == 409
    [reason] = response.json()["reasons"]
    assert reason["code"] == "pdf_failed"
    assert "could not be drawn: Out of memory." in reason["message"]
    assert "POST to this address to try again" in reason["message"]
    assert StoredPdf.objects.get().status == StoredPdf.Status.FAILED
    renders.fail = None
    with django_capture_on_commit_callbacks(execute=True):
        retried = viewer_api.post(URL)
    assert retried.status_code == 202  # queued again; the worker has drawn it since
    response = viewer_api.get(URL)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert len(renders) == 2


def test_a_short_document_is_answered_at_once(
    viewer_api,
    long_invoice,  # noqa: F811
    settings,
):
    settings.BILLCYCLE_PDF_WORKER_LINES = 200
    response = viewer_api.get(URL)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
