"""An operator cancels a subscription from its account's page, in Chromium: the form, the
preview of what the next bill run credits, the success message, the Amendment in the history,
then a bill run for the account and its credit memo with the credit line."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Amendment
from tests.factories import ChargeFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_operator_cancels_a_subscription_and_the_next_run_credits_it(
    live_server, page: Page, operator, log_in, screenshot, run_now
):
    charge = ChargeFactory(name="Plan", price=Decimal("100.00"), subscription__account__name="Acme")
    subscription, account = charge.subscription, charge.account
    april = run_now(invoice_date=dt.date(2026, 4, 1), target_date=dt.date(2026, 4, 1))
    invoice = april.documents.get()
    log_in("operator", "operator-pass")
    page.get_by_role("link", name="Accounts").first.click()
    page.get_by_role("link", name=account.number).click()
    expect(page.locator("#history")).to_contain_text("No amendments")

    page.get_by_role("link", name="Cancel subscription").click()
    expect(
        page.get_by_role("heading", name=f"Cancel subscription {subscription.number}")
    ).to_be_visible()
    page.get_by_label("Cancel from").fill("2026-04-16")
    page.get_by_role("button", name="Show what the next run does").click()
    expect(page.get_by_test_id("next-run")).to_contain_text(
        "The next bill run credits 2026-04-16 – 2026-04-30."
    )
    screenshot("amendment-cancel-preview")

    page.get_by_role("button", name="Cancel the subscription").click()
    expect(page).to_have_url(f"{live_server.url}{account.get_absolute_url()}#subscriptions")
    expect(page.locator(".alert-success")).to_contain_text(
        f"{subscription.number} canceled from 2026-04-16."
    )
    row = page.get_by_test_id("amendment")
    expect(row).to_have_count(1)
    for text in ("operator", "Cancel", subscription.number, "2026-04-16", f"ended {charge.number}"):
        expect(row).to_contain_text(text)
    # Canceled: nothing more to amend on it.
    expect(page.get_by_role("link", name="Cancel subscription")).to_have_count(0)
    screenshot("amendment-history")
    assert Amendment.objects.get().actor == operator

    # The next run for the account credits April 16-30 on a credit memo.
    page.get_by_test_id("bill-account").click()
    page.get_by_label("Invoice date").fill("2026-05-01")
    page.get_by_label("Target date").fill("2026-05-01")
    page.get_by_role("button", name="Create bill run").click()
    expect(page.locator("#run-status")).to_contain_text("Completed")
    expect(page.locator('[data-stat="credit-memos"]')).to_have_text("1")
    page.locator("#run-tabs").get_by_role("link", name="Credit Memos").click()
    page.get_by_role("link", name=re.compile(r"^CM")).first.click()
    expect(page.locator("body")).to_contain_text(
        "Credit: Plan, 2026-04-16 – 2026-04-30, 15/30 days"
    )
    expect(page.locator("body")).to_contain_text(f"credits {invoice.number}")
    expect(page.locator("#document-total")).to_contain_text("$50.00")
    screenshot("amendment-credit-memo")
