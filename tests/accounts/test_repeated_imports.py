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

from accounts.imports import ImportFileError, import_usage
from accounts.models import UsageRecord
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
