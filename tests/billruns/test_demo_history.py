"""`manage.py seed_demo_history` (what `make demo` runs after seed_demo): the demo opens on a
past of monthly runs, posted, one canceled, the last with failed accounts to retry."""

import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.models import Charge
from billruns.demo import BROKEN_TIERS
from billruns.models import BillRun, BillRunEvent
from invoicing.models import BillingDocument

pytestmark = pytest.mark.django_db
AS_OF = "2026-11-01"


def command(name: str, **options) -> str:
    out = io.StringIO()
    call_command(name, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def demo(db):
    command("seed_demo", accounts=150, as_of=AS_OF)
    return command("seed_demo_history", as_of=AS_OF, months=4)


def run_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-run="(BR-\d+)">(.*?)</tr>', html, re.S))


def test_the_runs_page_shows_posted_runs_one_canceled_and_one_with_failures(demo, client):
    client.force_login(User.objects.get(username="operator"))  # login throttling wants a request
    html = client.get(reverse("billruns:list")).content.decode()
    rows = run_rows(html)
    assert len(rows) == 5
    posted = [number for number, row in rows.items() if ">Posted<" in row]
    canceled = [number for number, row in rows.items() if ">Canceled<" in row]
    failing = [number for number, row in rows.items() if "failure-alert" in row]
    assert len(posted) == 3 and len(canceled) == 1 and len(failing) == 1
    assert "Monthly billing October 2026" in rows[failing[0]] and ">Completed<" in rows[failing[0]]
    assert "Batch 7 mid-month (made by mistake)" in rows[canceled[0]]
    assert re.search(r"3 failed accounts", rows[failing[0]])


def test_the_past_is_dated_as_it_happened_and_written_by_the_services(demo):
    runs = list(BillRun.objects.order_by("invoice_date", "id"))
    assert [run.invoice_date for run in runs] == [
        dt.date(2026, 7, 1),
        dt.date(2026, 8, 1),
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 15),
        dt.date(2026, 10, 1),
    ]
    for run in runs:
        assert run.created_at.date() == run.invoice_date
        assert run.created_by.username == "operator"
    july = runs[0]
    assert july.posted_at.date() == dt.date(2026, 7, 2)
    history = list(july.events.order_by("id").values_list("from_status", "to_status"))
    assert history == [
        ("", "Pending"),
        ("Pending", "Processing"),
        ("Processing", "Completed"),
        ("Completed", "PostInProgress"),
        ("PostInProgress", "Posted"),
    ]
    assert not BillingDocument.objects.filter(bill_run=july).exclude(status="Posted").exists()
    canceled = runs[3]
    assert (
        canceled.status == BillRun.Status.CANCELED
        and canceled.canceled_at.date() == canceled.invoice_date
    )
    assert set(canceled.documents.values_list("status", flat=True)) <= {"Canceled"}
    assert BillRunEvent.objects.filter(bill_run=canceled, to_status="Canceled").exists()


def test_the_failed_accounts_bill_once_retried(demo, django_capture_on_commit_callbacks):
    from django.contrib.auth import get_user_model

    from billruns.services import retry_failed_accounts

    failing = BillRun.objects.get(status=BillRun.Status.COMPLETED)
    assert failing.number_of_failures == 3
    assert set(failing.failures.values_list("error_code", flat=True)) == {"invalid_tiers"}
    assert not Charge.objects.filter(tiers=BROKEN_TIERS).exists()  # put right since
    operator = get_user_model().objects.get(username="operator")
    with django_capture_on_commit_callbacks(execute=True):  # the worker, in sync mode
        retry = retry_failed_accounts(run=failing, acting_user=operator)
    retry.refresh_from_db()
    assert retry.status == BillRun.Status.COMPLETED
    assert (retry.number_of_accounts, retry.number_of_failures) == (3, 0)


def test_it_says_what_it_made_and_does_nothing_twice_with_if_empty(demo):
    lines = demo.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("BR-") and "Monthly billing July 2026: Posted" in lines[0]
    assert "3 failures (left for review, with failed accounts to retry)" in lines[-1]
    assert command("seed_demo_history", as_of=AS_OF, if_empty=True) == (
        "Bill runs already there; no demo history added.\n"
    )
    assert BillRun.objects.count() == 5


@pytest.mark.parametrize(
    "options, message",
    [
        ({"as_of": "2026-02-30"}, "--as-of must be a date as YYYY-MM-DD, not '2026-02-30'."),
        ({"months": "two"}, "--months must be a whole number, not 'two'."),
        ({"months": "2"}, "--months must be at least 3 (got 2)."),
        ({}, "There are no accounts: run manage.py seed_demo first."),
    ],
)
def test_bad_input_is_one_line(db, options, message):
    with pytest.raises(CommandError) as error:
        command("seed_demo_history", **options)
    assert str(error.value) == message
