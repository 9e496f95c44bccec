"""A schedule created in the browser, with its preview of run dates; exports downloaded from
the bill run list."""

import csv

import pytest
from playwright.sync_api import Page, expect

from billruns.models import BillRunSchedule
from tests.factories import BillRunFactory

pytestmark = [
    pytest.mark.browser,
    # As every browser test: the flush after a transactional test empties the content types
    # and permissions the next test in the same process needs.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_operator_creates_a_monthly_schedule_from_its_preview(
    live_server, page: Page, operator, log_in, screenshot
):
    log_in("operator", "operator-pass")
    page.get_by_role("link", name="Schedules").click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("No schedules yet.")
    page.get_by_role("link", name="New schedule").first.click()

    page.get_by_label("Name").fill("Month end")
    page.get_by_label("Monthly").check()
    page.get_by_label("Day of month").fill("31")
    page.get_by_label("Starts on").fill("2027-01-01")
    page.get_by_label("Invoice date").fill("1")
    page.get_by_label("Batch3", exact=True).check()
    page.get_by_label("Bill cycle day", exact=True).select_option("AsRunDay")
    preview = page.get_by_test_id("schedule-preview")
    expect(preview.locator("tbody tr")).to_have_count(15)
    expect(preview).to_contain_text("2027-02-28")  # day 31 in February: its last day
    expect(preview.locator("tbody tr").nth(1)).to_contain_text("28–31")
    expect(preview.locator("tbody tr").nth(1)).to_contain_text("2027-03-01")  # invoice date
    screenshot("schedule-new")
    page.get_by_role("button", name="Create the schedule").click()

    expect(page.locator(".alert-success")).to_contain_text("Schedule Month end created.")
    schedule = BillRunSchedule.objects.get()
    assert (schedule.frequency, schedule.day_of_month, schedule.batches) == (
        "Monthly",
        31,
        ["Batch3"],
    )
    expect(page.get_by_test_id("next-run")).to_contain_text("2027-01-31 06:00")
    screenshot("schedule-detail")

    page.locator("#schedule-actions").get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Pause the schedule").click()
    expect(page.locator("#schedule-status")).to_contain_text("Paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#schedule-status")).to_contain_text("Active")


def test_the_list_export_downloads_the_filtered_runs(
    live_server, page: Page, operator, log_in, tmp_path
):

    kept = BillRunFactory(name="Broken", status="Error", error_message="No chunk could be written")
    BillRunFactory(name="Fine", status="Completed")
    log_in("operator", "operator-pass")
    page.goto(f"{live_server.url}/bill-runs/?status=Error")
    expect(page.locator("#bill-runs tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Export").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("bill-runs-")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["Billing Run Number"], row["Status"], row["Error Message"]) for row in rows] == [
        (kept.number, "Error", "No chunk could be written")
    ]
