"""An operator cancels a subscription from its account's page, in Chromium: the form, the
preview of what the next bill run credits, the success message and the Amendment in the
history."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Amendment
from tests.factories import ChargeFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_operator_cancels_a_subscription_and_sees_it_in_the_history(
    live_server, page: Page, operator, log_in, screenshot
):
    charge = ChargeFactory(
        name="Plan",
        price=Decimal("100.00"),
        charged_through=dt.date(2026, 4, 30),
        subscription__account__name="Acme",
    )
    subscription, account = charge.subscription, charge.account
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
