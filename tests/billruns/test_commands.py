"""The bill run commands: the run's number first, one readable line and exit 1 on bad input."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from billruns.models import BillRun
from invoicing.models import BillingDocument
from tests.factories import ChargeFactory, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run_command(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_with_wait_bills_and_prints_the_number_first_then_a_summary(
    mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(username="olivia", email="olivia@example.com")
    ChargeFactory(subscription__account__batch="Batch3")
    ChargeFactory(subscription__account__batch="Batch4")
    with django_capture_on_commit_callbacks(execute=True):
        output = run_command(
            "create_bill_run",
            "--batch",
            "Batch3",
            "--target-date",
            "2026-02-01",
            "--invoice-date",
            "2026-02-01",
            "--exclude-charge-type",
            "Usage",
            "--user",
            "olivia",
            "--wait",
        )
    lines = output.strip().splitlines()
    assert lines[0] == "BR-00000001"
    assert lines[-1].startswith("BR-00000001 Completed: 1 accounts, 1 invoices (0 zero-amount)")
    run = BillRun.objects.get()
    assert run.charge_types == ["OneTime", "Recurring"] and run.created_by.username == "olivia"
    assert [m.to for m in mailoutbox] == [["olivia@example.com"]]


def test_post_and_cancel_commands_report_the_new_status():
    ChargeFactory()
    run_command("create_bill_run", "--all", "--target-date", "2026-02-01", "--wait")
    assert run_command("post_bill_run", "BR-00000001").strip() == "BR-00000001 Posted."
    assert set(BillingDocument.objects.values_list("status", flat=True)) == {"Posted"}
    with pytest.raises(
        CommandError,
        match="only Pending, Completed, Error or Cancel in progress runs can be canceled",
    ):
        run_command("cancel_bill_run", "BR-00000001")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--all"], "--target-date is required"),
        (["--account", "A99999999", "--target-date", "2026-02-01"], "No account numbered"),
        (["--batch", "Batch9", "--target-date", "2026-02-01"], "No active account matches"),
        (["--all", "--target-date", "01/02/2026"], "must be an ISO date"),
        (["--target-date", "2026-02-01"], "Choose a scope"),
        (["--all", "--target-date", "2026-02-01", "--user", "nobody"], "No user named"),
        (
            ["--all", "--target-date", "2026-02-01", "--exclude-charge-type", "Fee"],
            "Unknown charge type",
        ),
    ],
)
def test_bad_input_is_one_readable_error(args, message):
    ChargeFactory()
    with pytest.raises(CommandError, match=message):
        run_command("create_bill_run", *args)


def test_an_illegal_transition_is_refused():
    ChargeFactory()
    run_command("create_bill_run", "--all", "--target-date", "2026-02-01", "--wait")
    run_command("post_bill_run", "BR-00000001")
    with pytest.raises(
        CommandError, match="is Posted: only Completed or Post in progress runs can be posted"
    ):
        run_command("post_bill_run", "BR-00000001")
    with pytest.raises(CommandError, match="No bill run numbered 'BR-9'"):
        run_command("post_bill_run", "BR-9")


def test_the_command_exits_1_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "create_bill_run", "--all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: --target-date is required (YYYY-MM-DD)."
