"""Review before posting, clicked through in Chromium: preview a run, download its CSV, create
the run from the preview, open the Review tab and find the account whose bill doubled."""

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from billruns.models import BillingPreviewRun, BillRun
from invoicing.models import BillingDocument
from tests.factories import BillingDocumentFactory, ChargeFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def two_customers():
    """Acme was billed $100 last month and will be billed $200 (January and February);
    Globex was billed $200 and will be billed $200 again."""
    customers = {}
    for name, before in (("Acme", "100.00"), ("Globex", "200.00")):
        charge = ChargeFactory(
            subscription__account__batch="Batch1",
            subscription__account__name=name,
            price=Decimal("100.00"),
        )
        BillingDocumentFactory(
            account=charge.account,
            amount=Decimal(before),
            document_date=dt.date(2026, 1, 1),
            status=BillingDocument.Status.POSTED,
            posted_at=timezone.now(),
            number=f"INV9{charge.account.pk:07d}",
        )
        customers[name] = charge.account
    return customers


def test_an_operator_previews_downloads_creates_the_run_and_reviews_it(
    live_server, page: Page, operator, log_in, screenshot, two_customers
):
    acme = two_customers["Acme"]
    log_in("operator", "operator-pass")
    page.goto(f"{live_server.url}/bill-runs/new/")
    page.get_by_label("Batch1", exact=True).check()
    page.get_by_label("Invoice date").fill("2026-02-01")
    page.get_by_label("Target date").fill("2026-02-01")
    page.get_by_label("Name").fill("February")
    page.get_by_role("button", name="Preview").click()

    # The preview is rated by the (synchronous) worker: its page shows what the run would bill.
    expect(page.locator("#preview-status")).to_contain_text("Completed")
    preview = BillingPreviewRun.objects.get()
    expect(page.locator('[data-stat="invoices"]')).to_have_text("2")
    expect(page.locator('[data-stat="lines"]')).to_have_text("4")
    expect(page.locator("#preview-amounts")).to_contain_text("$400.00")
    screenshot("preview-detail")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"{preview.number}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert {(row["accountNumber"], row["amount"]) for row in rows} == {
        (acme.number, "100.00"),
        (two_customers["Globex"].number, "100.00"),
    }
    assert len(rows) == 4 and not BillingDocument.objects.filter(bill_run__isnull=False).exists()

    # Create this bill run: the form comes back with the preview's terms.
    page.get_by_role("link", name="Create this bill run").click()
    expect(page.get_by_label("Target date")).to_have_value("2026-02-01")
    expect(page.get_by_label("Batch1", exact=True)).to_be_checked()
    page.get_by_role("button", name="Create bill run").click()
    expect(page.locator("#run-status")).to_contain_text("Completed")
    run = BillRun.objects.get()
    expect(page.locator("#run-amounts")).to_contain_text("$400.00")

    # The Review tab flags Acme (+100 %), not Globex (unchanged).
    page.locator("#run-tabs").get_by_role("link", name="Review").click()
    review = page.get_by_test_id("review")
    expect(review).to_contain_text(acme.number)
    expect(review).not_to_contain_text(two_customers["Globex"].number)
    flagged = review.locator("tr", has_text=acme.number)
    expect(flagged).to_contain_text("+100")
    expect(flagged).to_contain_text("Change above threshold")
    expect(flagged.get_by_role("link", name=f"INV9{acme.pk:07d}")).to_be_visible()
    screenshot("bill-run-review")
    assert BillingDocument.objects.filter(bill_run=run).count() == 2
