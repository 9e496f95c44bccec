"""A long document's PDF in a real browser: the page says it is being prepared, htmx polls until
the worker has drawn it, then the file downloads."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.factories import DocumentLineFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_pdf_page_polls_until_the_file_is_ready_then_downloads(
    live_server, page: Page, operator, log_in, settings, screenshot
):
    settings.BILLCYCLE_PDF_WORKER_LINES = 2
    first = DocumentLineFactory(document__number="INV00000042", document__amount=Decimal("3"))
    for day in (2, 3):
        DocumentLineFactory(
            document=first.document,
            charge=first.charge,
            service_start=dt.date(2026, 2, day),
            service_end=dt.date(2026, 2, day),
        )
    log_in("operator", "operator-pass")
    page.goto(live_server.url + reverse("invoicing:detail", args=[first.document.pk]))
    page.get_by_role("link", name="Download PDF").click()
    status = page.locator("#pdf-status")
    # The worker (django-q2 in sync mode here) has drawn it by the first poll, 2 s later.
    expect(status).to_contain_text("The PDF of INV00000042 is being prepared.")
    screenshot("pdf-being-prepared")
    expect(status).to_contain_text("The PDF of INV00000042 is ready.", timeout=10_000)
    screenshot("pdf-ready")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download INV00000042.pdf").click()
    assert download.value.suggested_filename == "INV00000042.pdf"
