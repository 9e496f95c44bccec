"""Every page works under the Content-Security-Policy: Chromium reports no violation, no script
error and no failed load on any of them, htmx still swaps and Bootstrap still opens its parts."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from api.models import WebhookEndpoint
from billruns.models import BillingPreviewRun, BillRunSchedule
from billruns.preview import services as previews
from billruns.terms import RunTerms
from tests.factories import BillRunFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def problems(page: Page):
    """What the browser complains about: CSP violations, console errors, uncaught errors."""
    found: list[str] = []

    def on_console(message):
        url = message.location.get("url", "")
        # The admin's pages name no icon, so Chromium asks for /favicon.ico (a 404).
        if url.endswith("/favicon.ico"):
            return
        if message.type == "error" or "Content Security Policy" in message.text:
            found.append(f"console {message.type}: {message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: found.append(f"page error: {error}"))
    return found


@pytest.fixture
def everything(run_completed, operator):
    preview = previews.create_preview(
        terms=RunTerms(
            invoice_date=dt.date(2026, 2, 1), target_date=dt.date(2026, 2, 1), name="Feb"
        ),
        acting_user=operator,
        enqueue=False,
    )
    BillingPreviewRun.objects.filter(pk=preview.pk).update(status="Completed")
    schedule = BillRunSchedule.objects.create(
        name="Monthly run",
        frequency=BillRunSchedule.Frequency.MONTHLY,
        day_of_month=1,
        run_time=dt.time(6),
        starts_on=dt.date(2027, 1, 1),
        owner=operator,
    )
    live = BillRunFactory(name="Still billing", status="Processing")
    webhook = WebhookEndpoint.objects.create(
        url="https://erp.example.com/hook", events=["billRun.completed"]
    )
    document = run_completed.documents.order_by("pk").first()
    return {
        "run": run_completed,
        "preview": preview,
        "schedule": schedule,
        "live": live,
        "document": document,
        "account": document.account,
        "webhook": webhook,
    }


def test_every_page_works_under_the_content_security_policy(
    live_server, page: Page, operator, log_in, problems, everything
):
    run = everything["run"]
    response = page.goto(f"{live_server.url}/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    log_in("operator", "operator-pass")
    expect(page).to_have_url(f"{live_server.url}/")

    pages = [
        "/",
        "/bill-runs/",
        *(
            f"/bill-runs/{run.pk}/?tab={tab}"
            for tab in ("invoices", "credit-memos", "failed", "history", "review")
        ),
        f"/bill-runs/{everything['live'].pk}/",
        "/bill-runs/previews/",
        f"/bill-runs/previews/{everything['preview'].pk}/",
        "/documents/",
        f"/documents/{everything['document'].pk}/",
        "/accounts/",
        f"/accounts/{everything['account'].pk}/",
        "/accounts/import/",
        "/schedules/",
        f"/schedules/{everything['schedule'].pk}/",
        "/api-tokens/",
        "/webhooks/",
        f"/webhooks/{everything['webhook'].pk}/",
        "/admin/",
        "/admin/accounts/account/",
        f"/admin/accounts/account/{everything['account'].pk}/change/",
        f"/admin/billruns/billrun/{run.pk}/change/",
    ]
    for path in pages:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert problems == [], path

    # The new run form: its script (a static file) shows the chosen scope's fields and asks
    # htmx for account suggestions.
    page.goto(f"{live_server.url}/bill-runs/new/")
    page.get_by_label("One account").check()
    expect(page.locator('[data-scope-section="batches"]')).to_be_hidden()
    with page.expect_response(lambda r: "/accounts/autocomplete/" in r.url):
        page.locator("#id_account").fill("Acm")
    page.get_by_label("Batches and bill cycle day").check()
    expect(page.locator('[data-scope-section="batches"]')).to_be_visible()
    page.goto(f"{live_server.url}/schedules/new/")
    page.wait_for_load_state("networkidle")

    # A live run's progress bar is sized by billcycle.js and refreshed by htmx's polling.
    page.goto(f"{live_server.url}/bill-runs/{everything['live'].pk}/")
    with page.expect_response(lambda r: "/progress/" in r.url):
        pass
    assert page.locator("#run-progress .progress-bar").evaluate("e => e.style.width") != ""
    # The 404 page is drawn in the app's frame too (the browser logs only its status).
    page.goto(f"{live_server.url}/no-such-page/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert len(problems) == 1 and "status of 404" in problems.pop()
    # A Bootstrap modal opens.
    page.goto(f"{live_server.url}/bill-runs/{run.pk}/")
    page.locator("#run-actions").get_by_role("button", name="Cancel run").click()
    expect(page.locator(".modal.show")).to_be_visible()

    # Removing a webhook endpoint still asks first (a data-confirm-message, no onsubmit).
    page.goto(f"{live_server.url}/webhooks/{everything['webhook'].pk}/")
    asked: list[str] = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", answer)
    page.get_by_role("button", name="Remove").click()
    assert asked == ["Remove this endpoint and its deliveries?"]
    assert WebhookEndpoint.objects.filter(pk=everything["webhook"].pk).exists()

    # The API documentation: Swagger UI draws the schema's operations.
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_text("/api/v1/bill-runs").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert problems == []
