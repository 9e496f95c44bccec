"""Importing the same thing twice: a usage file whose rows were imported before is refused (it
would bill the same usage twice) unless the operator says it is new usage; an accounts file's
rows whose account already exists are refused, each with its reason."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.imports import ImportFileError, import_accounts, import_usage
from accounts.models import Account, UsageRecord
from billruns.models import BillRun
from invoicing.models import BillingDocument
from tests.factories import AccountFactory, ChargeFactory, create_bill_run

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("accounts:import")
IMPORTED_AT = dt.datetime(2026, 1, 31, 9, 30, tzinfo=dt.UTC)
FEB1 = dt.date(2026, 2, 1)
# 25.02 GB at 0.50 EUR: 12.51 EUR, once.
USAGE = "account_number,charge_number,quantity,usage_date\nA00000101,C00000011,25.02,2026-01-10\n"
REPEATED = (
    "These rows were already imported: usage.csv on 2026-01-31 09:30{by}, 1 usage record with "
    "source usage.csv:2 to usage.csv:2. Nothing imported: the same usage imported twice is "
    "billed twice."
)


@pytest.fixture
def customer(settings):
    settings.TIME_ZONE = "UTC"
    account = AccountFactory(number="A00000101", name="Acme", currency="EUR")
    ChargeFactory(
        number="C00000011",
        subscription__account=account,
        charge_type="Usage",
        charge_model="PerUnit",
        billing_timing="InArrears",
        price=Decimal("0.50"),
        uom="GB",
    )
    return account


def imported(content: str, *, file_name="usage.csv", **options):
    with time_machine.travel(IMPORTED_AT, tick=False):
        return import_usage(io.StringIO(content, newline=""), file_name=file_name, **options)


def billed_amount(django_capture_on_commit_callbacks) -> Decimal:
    with django_capture_on_commit_callbacks(execute=True):
        run = create_bill_run(acting_user=None, invoice_date=FEB1, target_date=FEB1)
    run.refresh_from_db()
    assert run.status == BillRun.Status.COMPLETED
    return BillingDocument.objects.get(bill_run=run).amount


# -- usage: the import ---------------------------------------------------------------------------


def test_the_same_usage_file_imported_twice_is_refused_and_bills_once(
    customer, django_capture_on_commit_callbacks
):
    assert imported(USAGE).rows_written == 1
    with pytest.raises(ImportFileError) as refused:
        imported(USAGE)
    assert str(refused.value) == REPEATED.format(by="")
    assert UsageRecord.objects.count() == 1
    assert billed_amount(django_capture_on_commit_callbacks) == Decimal("12.51")


@pytest.mark.parametrize(
    "same_rows",
    [
        USAGE.replace("\n", "\r\n"),  # saved again on Windows
        "\ufeff" + USAGE,  # with a BOM (as read by a text stream that keeps it)
        "usage_date,quantity,charge_number,account_number\n2026-01-10,25.02,C00000011,A00000101\n",
        USAGE.replace("25.02,", " 25.02 ,") + "\n,,,\n",  # spaces and a blank row
    ],
    ids=["crlf", "bom", "columns-moved", "spaces-and-blank-rows"],
)
def test_the_same_rows_in_another_file_are_recognised(customer, same_rows):
    imported(USAGE)
    with pytest.raises(ImportFileError, match="These rows were already imported"):
        imported(same_rows, file_name="usage-resaved.csv")
    assert UsageRecord.objects.count() == 1


def test_a_file_with_other_rows_imports(customer):
    imported(USAGE)
    result = imported(USAGE.replace("2026-01-10", "2026-01-11"))
    assert result.rows_written == 1
    assert UsageRecord.objects.count() == 2


def test_rows_imported_again_on_purpose_import_and_the_next_repeat_is_refused_again(customer, user):
    imported(USAGE, acting_user=user)
    assert imported(USAGE, again=True).rows_written == 1
    assert UsageRecord.objects.count() == 2
    with pytest.raises(ImportFileError) as refused:
        imported(USAGE)
    assert str(refused.value).startswith("These rows were already imported (2 times): usage.csv")
    assert UsageRecord.objects.count() == 2


def test_the_refusal_names_who_imported_the_rows_first(customer, user):
    imported(USAGE, acting_user=user)
    with pytest.raises(ImportFileError) as refused:
        imported(USAGE)
    assert str(refused.value) == REPEATED.format(by=" by olivia")


def test_a_file_that_imported_nothing_is_not_remembered(customer):
    bad = USAGE + "A00009999,C00000011,1,2026-01-12\n"
    assert imported(bad).rows_written == 0  # all or nothing: one bad row
    assert imported(bad, write_valid=True).rows_written == 1
    with pytest.raises(ImportFileError, match="already imported"):
        imported(bad, write_valid=True)
    assert UsageRecord.objects.count() == 1


# -- usage: the command and the page -------------------------------------------------------------


def test_import_usage_refuses_a_repeat_in_one_line_and_imports_it_with_again(customer, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(USAGE, encoding="utf-8")
    with time_machine.travel(IMPORTED_AT, tick=False):
        call_command("import_usage", str(path), stdout=io.StringIO())
        with pytest.raises(CommandError) as refused:
            call_command("import_usage", str(path), stdout=io.StringIO())
    assert str(refused.value) == (
        f"usage.csv: {REPEATED.format(by='')} Give --again if it is new usage."
    )
    assert UsageRecord.objects.count() == 1
    out = io.StringIO()
    call_command("import_usage", str(path), "--again", stdout=out)
    assert out.getvalue().startswith("Imported 1 usage record from 1 rows of usage.csv")
    assert UsageRecord.objects.count() == 2


def upload(client, *, again=False):
    data = {"kind": "usage", "file": SimpleUploadedFile("usage.csv", USAGE.encode(), "text/csv")}
    if again:
        data["again"] = "on"
    with time_machine.travel(IMPORTED_AT, tick=False):
        return client.post(IMPORT_URL, data)


def test_the_page_refuses_a_repeat_with_the_reason_and_imports_it_when_ticked(logged_in, customer):
    assert upload(logged_in).status_code == 302
    response = upload(logged_in)
    assert response.status_code == 200
    page = response.content.decode()
    assert REPEATED.format(by=" by operator") in page
    assert "If it is new usage, tick “Import usage rows that were imported before”." in page
    assert 'name="again"' in page
    assert UsageRecord.objects.count() == 1
    assert upload(logged_in, again=True).status_code == 302
    assert UsageRecord.objects.count() == 2


# -- accounts ------------------------------------------------------------------------------------

ACCOUNTS = (
    "account_number,account_ref,account_name,currency,bill_cycle_day,bill_to_email,"
    "subscription_ref,term_start,charge_name,charge_type,charge_model,price,billing_period,"
    "effective_start\n"
    ",acme,Acme Corp,USD,1,billing@acme.example,main,2026-01-01,Platform fee,Recurring,FlatFee,"
    "100.00,Month,2026-01-01\n"
    ",acme,Acme Corp,USD,1,billing@acme.example,main,2026-01-01,Support,Recurring,FlatFee,"
    "20.00,Month,2026-01-01\n"
    "LEGACY-7,,Globex,EUR,15,,s1,2026-03-01,Setup,OneTime,FlatFee,-25.50,,2026-03-01\n"
    ",initech,Initech,USD,1,,main,2026-01-01,Seats,Recurring,FlatFee,9.00,Month,2026-01-01\n"
)
ACME_EXISTS = (
    "account A00000001 already exists with this name, bill-to email billing@acme.example and "
    "currency USD: the import creates accounts and does not change existing ones (give an "
    "account_number to import another account of the same name)"
)
GLOBEX_EXISTS = (
    "account LEGACY-7 already exists: the import creates accounts and does not change existing ones"
)
INITECH_EXISTS = (
    "account A00000002 already exists with this name, no bill-to email and currency USD: the "
    "import creates accounts and does not change existing ones (give an account_number to import "
    "another account of the same name)"
)
SECOND_IMPORT_ERRORS = [
    (2, "account_name", ACME_EXISTS),
    (
        3,
        "",
        "not imported: its account has errors on row 2, and an account is imported whole or not "
        "at all",
    ),
    (4, "account_number", GLOBEX_EXISTS),
    (5, "account_name", INITECH_EXISTS),
]


def accounts_import(content: str, **options):
    return import_accounts(io.StringIO(content), file_name="accounts.csv", **options)


def errors_of(result) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in result.errors]


def test_an_accounts_file_imported_twice_creates_each_account_once_and_says_why_per_row():
    assert accounts_import(ACCOUNTS).created_text() == "3 accounts, 3 subscriptions and 4 charges"
    result = accounts_import(ACCOUNTS)
    assert errors_of(result) == SECOND_IMPORT_ERRORS
    assert (result.rows_written, result.bad_rows) == (0, 4)
    assert result.created_text() == "0 accounts, 0 subscriptions and 0 charges"
    assert Account.objects.count() == 3
    # Skipping them imports nothing either: every account exists.
    assert accounts_import(ACCOUNTS, write_valid=True).rows_written == 0
    assert Account.objects.count() == 3


def test_write_valid_skips_the_existing_accounts_and_creates_the_new_ones():
    AccountFactory(name="Acme Corp", bill_to_email="Billing@ACME.example", currency="USD")
    result = accounts_import(ACCOUNTS, write_valid=True)
    assert [(e.row, e.column) for e in result.errors] == [(2, "account_name"), (3, "")]
    assert result.created_text() == "2 accounts, 2 subscriptions and 2 charges"
    assert sorted(Account.objects.values_list("name", flat=True)) == [
        "Acme Corp",
        "Globex",
        "Initech",
    ]


@pytest.mark.parametrize(
    ("name", "email", "currency"),
    [
        ("Acme Corp", "billing@acme.example", "EUR"),  # its account in another currency
        ("Acme Corp", "ap@acme.example", "USD"),
        ("Acme Corporation", "billing@acme.example", "USD"),
    ],
)
def test_an_account_differing_in_name_email_or_currency_is_new(name, email, currency):
    AccountFactory(name=name, bill_to_email=email, currency=currency)
    result = accounts_import(ACCOUNTS)
    assert result.errors == []
    assert Account.objects.filter(name="Acme Corp").count() == 1 + (name == "Acme Corp")


def test_import_accounts_run_twice_exits_1_the_second_time_with_each_row_listed(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS, encoding="utf-8")
    call_command("import_accounts", str(path), stdout=io.StringIO())
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_accounts", str(path), stdout=io.StringIO(), stderr=err)
    assert str(refused.value) == "4 bad rows and no valid row: nothing imported."
    assert f"row 2, column account_name: {ACME_EXISTS}" in err.getvalue().splitlines()
    assert Account.objects.count() == 3


def test_the_page_lists_the_accounts_that_already_exist(logged_in):
    def upload():
        file = SimpleUploadedFile("accounts.csv", ACCOUNTS.encode(), "text/csv")
        return logged_in.post(IMPORT_URL, {"kind": "accounts", "file": file})

    assert upload().status_code == 302
    page = upload().content.decode()
    assert "4 bad rows of 4: nothing imported." in page
    assert f"<td>account_name</td><td>{ACME_EXISTS}</td>" in page
    assert Account.objects.count() == 3
