"""An operator's whole bill run, clicked through in Chromium: create, watch, inspect the
failures, retry them, post; a viewer who may only look; a PDF that downloads."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Charge
from billruns.models import BillRun
from tests.factories import BillRunFactory, ChargeFactory, failing_charge

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def billable_data():
    """Two good accounts and one whose usage rating fails, in Batch1 and Batch2; one more
    account in Batch3 that the run must leave alone."""
    ChargeFactory(subscription__account__batch="Batch1", subscription__account__name="Acme")
    ChargeFactory(subscription__account__batch="Batch2", subscription__account__name="Globex")
    bad = failing_charge(batch="Batch2", name="Initech")
    ChargeFactory(subscription__account__batch="Batch3")
    return bad


def test_an_operator_bills_two_batches_retries_the_failure_and_posts(
    live_server, page: Page, operator, log_in, screenshot, billable_data
):
    bad_charge = billable_data
    log_in("operator", "operator-pass")
    page.get_by_role("link", name="Bill runs").click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("No bill runs yet.")
    page.get_by_role("link", name="New bill run").first.click()

    # The form: scope with a live account count, dates, then create.
    page.get_by_label("Batch1", exact=True).check()
    page.get_by_label("Batch2", exact=True).check()
    expect(page.locator("#scope-count")).to_contain_text("3 active accounts in this scope")
    page.get_by_label("Invoice date").fill("2026-02-01")
    page.get_by_label("Target date").fill("2026-02-01")
    page.get_by_label("Name").fill("February batches 1-2")
    screenshot("bill-run-new")
    page.get_by_role("button", name="Create bill run").click()

    # The run is billed by the (synchronous) worker; the page shows the result.
    expect(page.locator("#run-status")).to_contain_text("Completed")
    run = BillRun.objects.get(name="February batches 1-2")
    expect(page.locator('[data-stat="accounts"]')).to_have_text("3")
    expect(page.locator('[data-stat="invoices"]')).to_have_text("2")
    expect(page.locator("#run-amounts")).to_contain_text("$400.00")
    expect(page.locator("#run-status .failure-alert")).to_be_visible()
    screenshot("bill-run-detail")

    page.locator("#run-tabs").get_by_role("link", name="Failed Accounts or Subscriptions").click()
    failures = page.get_by_test_id("failures")
    expect(failures).to_contain_text(bad_charge.account.number)
    expect(failures).to_contain_text("invalid_tiers")
    screenshot("bill-run-failed-tab")

    # The operator fixes the charge, then retries only the failed account.
    Charge.objects.filter(pk=bad_charge.pk).update(tiers=[{"up_to": None, "unit_price": "1"}])
    page.locator("#run-actions").get_by_role("button", name="Retry failed accounts").click()
    page.get_by_role("button", name="Create the retry run").click()
    expect(page.locator(".alert-success")).to_contain_text(
        f"created to retry the failed accounts of {run.number}"
    )
    expect(page.locator("#run-status")).to_contain_text("Completed")
    expect(page.locator('[data-stat="invoices"]')).to_have_text("1")
    expect(page.locator("#run-status .failure-alert")).to_have_count(0)

    # Back to the first run: post it after a confirmation.
    page.get_by_role("link", name=run.number).click()
    page.locator("#run-actions").get_by_role("button", name="Post").click()
    expect(page.locator("#confirm-post")).to_be_visible()
    page.get_by_role("button", name="Post the run").click()
    # The tests' worker is synchronous: the posting is done by the time the page answers.
    expect(page.locator(".alert-success")).to_contain_text(
        f"{run.number} is Posted: all its documents are final"
    )
    expect(page.locator("#run-status")).to_contain_text("Posted")
    expect(page.locator('[data-stat="posted"]')).to_have_text("100%")
    page.locator("#run-tabs").get_by_role("link", name="History").click()
    expect(page.get_by_test_id("history")).to_contain_text("operator")

    # The list: the first run carries the alert icon (with its count), the retry does not.
    page.get_by_role("link", name="Bill runs").first.click()
    first_row = page.locator(f'tr[data-run="{run.number}"]')
    expect(first_row.locator(".failure-alert")).to_have_attribute("aria-label", "1 failed account")
    retry = BillRun.objects.get(retry_of=run)
    expect(page.locator(f'tr[data-run="{retry.number}"] .failure-alert')).to_have_count(0)
    first_row.locator(".failure-alert").hover()
    expect(page.get_by_role("tooltip")).to_have_text("1 failed account")
    screenshot("bill-run-list")


def test_the_account_field_suggests_matching_accounts(
    live_server, page: Page, operator, log_in, billable_data
):
    from accounts.models import Account

    globex = Account.objects.get(name="Globex")
    log_in("operator", "operator-pass")
    page.goto(f"{live_server.url}/bill-runs/new/")
    page.get_by_label("One account").check()
    expect(page.get_by_label("Batch1", exact=True)).to_be_hidden()
    page.get_by_label("Account", exact=True).press_sequentially("glob")
    options = page.locator("#account-options option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("value", globex.number)
    page.get_by_label("Account", exact=True).fill(globex.number)
    page.get_by_label("Account", exact=True).press("End")
    expect(page.locator("#scope-count")).to_contain_text(f"Bills {globex.number} · Globex")


def test_the_progress_bar_follows_a_processing_run_without_a_reload(
    live_server, page: Page, operator, log_in, screenshot
):
    run = BillRunFactory(
        status="Processing",
        executed_at=timezone.now() - dt.timedelta(seconds=30),
        chunks_total=4,
        chunks_done=1,
    )
    log_in("operator", "operator-pass")
    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    expect(page.locator("#run-progress")).to_contain_text("1 of 4 chunks done")
    page.evaluate("window.notReloaded = true")
    screenshot("bill-run-progress")

    BillRun.objects.filter(pk=run.pk).update(chunks_done=3)
    expect(page.locator("#run-progress")).to_contain_text("3 of 4 chunks done", timeout=8000)
    expect(page.locator("#run-progress .progress")).to_have_attribute("aria-valuenow", "75")
    assert page.evaluate("window.notReloaded") is True

    BillRun.objects.filter(pk=run.pk).update(chunks_done=4, status="Completed")
    expect(page.locator("#run-status")).to_contain_text("Completed", timeout=8000)
    expect(page.locator("#run-progress")).to_have_count(0)


def test_a_viewer_sees_no_actions_and_is_refused_when_posting(
    live_server, page: Page, viewer, log_in, run_completed
):
    run = run_completed
    log_in("viewer", "viewer-pass")
    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    expect(page.locator("#run-status")).to_contain_text("Completed")
    expect(page.locator("#run-actions button")).to_have_count(0)
    page.goto(f"{live_server.url}/bill-runs/")
    expect(page.get_by_role("link", name="New bill run")).to_have_count(0)

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/bill-runs/{run.pk}/post/",
        headers={"X-CSRFToken": csrf, "Referer": live_server.url},
    )
    assert response.status == 403
    run.refresh_from_db()
    assert run.status == "Completed"


def test_an_invoice_pdf_downloads(
    live_server, page: Page, operator, log_in, run_completed, screenshot
):
    log_in("operator", "operator-pass")
    page.goto(f"{live_server.url}{run_completed.get_absolute_url()}")
    page.get_by_test_id("documents").get_by_role("link", name=re.compile(r"^INV")).first.click()
    expect(page.locator("h1")).to_contain_text("INV")
    screenshot("document-detail")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename.startswith("INV") and download.suggested_filename.endswith(
        ".pdf"
    )
    with open(download.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"


def test_the_documents_and_accounts_pages_render(
    live_server, page: Page, operator, log_in, run_completed, screenshot
):
    log_in("operator", "operator-pass")
    page.get_by_role("link", name="Documents").first.click()
    expect(page.locator("table#documents")).to_contain_text("INV")
    expect(page.locator("#document-totals")).to_contain_text("$200.00")
    screenshot("documents-list")
    page.get_by_role("link", name="Accounts").first.click()
    expect(page.locator("table")).to_contain_text("Acme")
    screenshot("accounts-list")
    acme = run_completed.documents.get().account
    page.get_by_role("link", name=acme.number).first.click()
    expect(page.locator("h1")).to_contain_text("Acme")
    screenshot("account-detail")
