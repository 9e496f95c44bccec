"""Input PostgreSQL refuses gets a clear refusal, never a 500 or a traceback: a NUL character
(which it cannot store or even compare: "text fields cannot contain NUL") on every page and
import, and texts longer than their columns from the commands."""

import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.models import Account, UsageRecord
from billruns.models import BillRun
from tests.factories import AccountFactory, ChargeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

REFUSED = "holds a NUL character (<code>%00</code>), which no field accepts"


@pytest.fixture
def page(logged_in):
    logged_in.raise_request_exception = False  # a 500 is what these tests look for
    return logged_in


@pytest.mark.parametrize(
    "url, params, where",
    [
        (reverse("accounts:autocomplete"), {"account": "Acme\x00"}, "parameter 'account'"),
        (
            reverse("billruns:scope_count"),
            {"scope": "account", "account": "A\x00"},
            "parameter 'account'",
        ),
        (reverse("billruns:list"), {"q": "x\x00"}, "parameter 'q'"),
        (reverse("accounts:list"), {"status\x00": "Active"}, "parameter 'status'"),
        (reverse("invoicing:list"), {"o": "\x00"}, "parameter 'o'"),
    ],
)
def test_a_nul_in_a_query_is_a_400_naming_the_parameter(page, url, params, where):
    AccountFactory(name="Acme")
    response = page.get(url, params)
    assert response.status_code == 400
    assert f"The {where} {REFUSED}" in html.unescape(response.content.decode())


def test_a_nul_in_the_idempotency_key_creates_nothing(page):
    AccountFactory()
    data = {"idempotency_key": "k\x00", "scope": "batches", "charge_types": ["Recurring"]}
    data |= {"invoice_date": "2026-02-01", "target_date": "2026-02-01"}
    response = page.post(reverse("billruns:create"), data)
    assert response.status_code == 400
    assert f"The parameter 'idempotency_key' {REFUSED}" in html.unescape(response.content.decode())
    assert not BillRun.objects.exists()


def test_a_session_cookie_with_a_nul_is_ignored(client):
    client.cookies["sessionid"] = "abcdefgh\x00ijkl"
    response = client.get(reverse("billruns:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_api_answers_a_nul_in_its_own_error_shape(client, operator):
    client.force_login(operator)
    response = client.get("/api/v1/accounts", {"status": "x\x00"})
    assert response.status_code == 400
    assert response.json()["success"] is False


@pytest.mark.parametrize(
    "kind, content, where",
    [
        (
            "usage",
            "account_number,charge_number,quantity,usage_date\nA\x00,C1,1,2026-01-01\n",
            "row 2, column account_number",
        ),
        (
            "usage",
            "account_number,charge_number,quantity,usage_date\nA00000001,C\x001,1,2026-01-01\n",
            "row 2, column charge_number",
        ),
        (
            "accounts",
            "account_number,account_name,currency,bill_cycle_day,subscription_ref,term_start,"
            "charge_name,charge_type,charge_model,price,effective_start,billing_period\n"
            "A\x00X,Acme,USD,1,s,2026-01-01,Fee,Recurring,FlatFee,1,2026-01-01,Month\n",
            "row 2, column account_number",
        ),
    ],
)
def test_a_nul_in_an_import_refuses_the_file_on_the_page(page, kind, content, where):
    ChargeFactory(number="C00000001", subscription__account=AccountFactory(number="A00000001"))
    upload = SimpleUploadedFile("f.csv", content.encode(), "text/csv")
    response = page.post(reverse("accounts:import"), {"kind": kind, "file": upload})
    assert response.status_code == 200
    assert f"The file holds a NUL character ({where})" in response.content.decode()
    assert Account.objects.count() == 1 and not UsageRecord.objects.exists()


def test_a_nul_in_a_usage_file_is_one_line_from_the_command(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("account_number,charge_number,quantity,usage_date\nA\x00,C1,1,2026-01-01\n")
    with pytest.raises(CommandError, match=r"^usage.csv: The file holds a NUL character \(row 2"):
        call_command("import_usage", str(path), stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize(
    "command, option, what",
    [
        ("create_bill_run", "--name", "The name"),
        ("create_bill_run", "--idempotency-key", "The idempotency key"),
        ("preview_bill_run", "--name", "The name"),
    ],
)
def test_a_text_option_longer_than_its_column_is_one_line_and_exit_1(command, option, what):
    ChargeFactory()
    with pytest.raises(CommandError) as error:
        call_command(
            command, "--all", "--target-date", "2026-12-01", option, "x" * 256, stdout=io.StringIO()
        )
    assert str(error.value) == f"{what} is longer than 255 characters."
    assert not BillRun.objects.exists()
