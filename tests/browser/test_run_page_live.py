"""What an operator clicks on the run's page while it bills, and on the new run form."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from billruns.models import BillRun
from tests.factories import BillRunFactory, ChargeFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_header_follows_a_run_from_pending_to_processing_and_terminate_works(
    live_server, page: Page, operator, log_in, screenshot
):
    run = BillRunFactory(status="Pending")
    log_in("operator", "operator-pass")
    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    actions = page.locator("#run-actions")
    expect(page.locator("#run-status")).to_contain_text("Pending")
    expect(actions.get_by_role("button", name="Cancel run")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    # A worker starts the run: the badge and the buttons follow, without a reload.
    BillRun.objects.filter(pk=run.pk).update(
        status="Processing", executed_at=timezone.now(), chunks_total=4, chunks_done=1
    )
    expect(page.locator("#run-status")).to_contain_text("Processing", timeout=8000)
    expect(actions.get_by_role("button", name="Cancel run")).to_have_count(0)
    expect(actions.get_by_role("button", name="Terminate")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    screenshot("bill-run-live-header")

    # The button it now offers works.
    actions.get_by_role("button", name="Terminate").click()
    page.get_by_role("button", name="Terminate the run").click()
    expect(page.locator(".alert-success")).to_contain_text(f"{run.number} terminated")
    expect(page.locator("#run-status")).to_contain_text("Completed")


def test_select_all_ticks_the_fifty_batches_and_the_scope_count_follows(
    live_server, page: Page, operator, log_in, screenshot
):
    ChargeFactory(subscription__account__batch="Batch1")
    ChargeFactory(subscription__account__batch="Batch50")
    log_in("operator", "operator-pass")
    page.goto(f"{live_server.url}/bill-runs/new/")
    batches = page.locator('input[name="batches"]')
    expect(batches).to_have_count(50)

    page.get_by_role("button", name="Select all").click()
    for index in range(50):
        expect(batches.nth(index)).to_be_checked()
    expect(page.locator("#scope-count")).to_contain_text("2 active accounts in this scope")
    page.get_by_label("Batch50", exact=True).uncheck()
    expect(page.locator("#scope-count")).to_contain_text("1 active account in this scope")
    screenshot("bill-run-new-select-all")

    page.get_by_role("button", name="Clear").click()
    for index in range(50):
        expect(batches.nth(index)).not_to_be_checked()


def test_the_create_button_comes_after_the_dates(live_server, page: Page, operator, log_in):
    log_in("operator", "operator-pass")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/bill-runs/new/")
    target = page.get_by_label("Target date").bounding_box()
    create = page.get_by_role("button", name="Create bill run").bounding_box()
    assert create["y"] > target["y"] + target["height"]
