"""Browser tests drive Debian's Chromium through Playwright (never `playwright install`)."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("TEST_OUTPUT_DIR", "test-results")) / "screenshots"


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(
        reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
    )
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot of what the user sees, for review after the run."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def log_in(page, live_server):
    def go(username: str, password: str):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()

    return go


@pytest.fixture
def run_completed(db, django_capture_on_commit_callbacks, operator):
    """A Completed run of one good account (Acme, two months of 100.00)."""
    import datetime as dt

    from tests.factories import ChargeFactory, create_bill_run

    ChargeFactory(
        subscription__account__name="Acme", subscription__account__bill_to_name="Acme Ltd"
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = create_bill_run(
            acting_user=operator, invoice_date=dt.date(2026, 2, 1), target_date=dt.date(2026, 2, 1)
        )
    run.refresh_from_db()
    return run
