"""An operator logs in through a real browser; every asset comes from the app itself."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import AccountFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_operator_logs_in_sees_home_and_logs_out(
    live_server, page: Page, operator, log_in, screenshot
):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    AccountFactory.create_batch(2)

    page.goto(live_server.url)
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    screenshot("login")

    log_in("operator", "wrong")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")

    log_in("operator", "operator-pass")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("#empty-state")).to_contain_text("No bill runs yet.")
    expect(page.locator("#account-stats")).to_contain_text("2")
    screenshot("home")

    # Vendored Bootstrap (CSS and JS), its icon font and htmx are loaded from the app.
    assert page.evaluate("typeof bootstrap.Modal") == "function"
    assert page.evaluate("typeof htmx.ajax") == "function"
    navbar_bg = page.evaluate(
        "getComputedStyle(document.querySelector('nav.navbar')).backgroundColor"
    )
    assert navbar_bg != "rgba(0, 0, 0, 0)"
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('1em bootstrap-icons')")
    assert requests and all(url.startswith(live_server.url) for url in requests), requests

    page.get_by_role("link", name="Admin", exact=True).click()
    expect(page.locator("#content h1")).to_contain_text("Data maintenance")
    screenshot("admin")

    page.goto(live_server.url)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
