"""An operator makes an API token and registers a webhook through a real browser, uses the
token from outside, and reads the API's documentation page, all served by the app itself."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_an_operator_makes_a_token_uses_it_and_revokes_it(
    live_server, page: Page, operator, log_in, screenshot
):
    log_in("operator", "operator-pass")
    page.get_by_title("API tokens").click()
    page.get_by_label("Token name").fill("CRM sync")
    page.get_by_test_id("create-token").click()
    key = page.locator("#new-token").inner_text().strip()
    expect(page.get_by_test_id("new-token")).to_contain_text("shown only once")
    screenshot("api-token-created")

    request = urllib.request.Request(
        f"{live_server.url}/api/v1/bill-runs", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response) == {
            "success": True,
            "data": [],
            "nextPage": None,
            "previousPage": None,
        }

    page.reload()
    expect(page.get_by_test_id("new-token")).to_have_count(0)  # the key is never shown again
    expect(page.get_by_role("row", name="CRM sync")).to_contain_text("Active")
    page.get_by_role("row", name="CRM sync").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row", name="CRM sync")).to_contain_text("Revoked")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    refused.value.close()
    assert refused.value.code == 401


def test_an_operator_registers_a_webhook_and_reads_the_api_docs(
    live_server, page: Page, operator, log_in, screenshot
):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    log_in("operator", "operator-pass")
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill("https://erp.example.com/billcycle")
    page.get_by_label("billRun.error").uncheck()
    page.get_by_test_id("add-endpoint").click()
    expect(page.get_by_role("heading", name="https://erp.example.com/billcycle")).to_be_visible()
    expect(page.get_by_test_id("secret")).to_contain_text("whsec_")
    expect(page.get_by_text("billRun.completed, billRun.posted")).to_be_visible()
    screenshot("webhook-endpoint")

    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_text("Billcycle API").first).to_be_visible()
    expect(page.get_by_text("/api/v1/bill-runs").first).to_be_visible()
    screenshot("api-docs")
    assert all(url.startswith(live_server.url) for url in requests), [
        url for url in requests if not url.startswith(live_server.url)
    ]
