"""Input no import can store: a NUL character refuses the file, tiers JSON that exhausts the
reader (deep nesting, an integer of thousands of digits) is one error of its row."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.forms import ChangeChargeForm
from accounts.imports import ImportFileError, import_accounts, import_usage
from accounts.models import Account, UsageRecord
from tests.accounts.test_imports import ACCOUNTS_HEADER, USAGE_HEADER, account_row, text
from tests.factories import AccountFactory, ChargeFactory

pytestmark = pytest.mark.django_db

DEEP = "[" * 10_000  # deeper than Python's recursion limit, shorter than the tiers' limit
HUGE = "9" * 5_000  # more digits than Python converts to an int


def tiers_row(tiers: str) -> str:
    quoted = '"' + tiers.replace('"', '""') + '"'
    return account_row(ref="r", charge_model="Tiered", price="", tiers=quoted)


@pytest.fixture
def usage_charge():
    return ChargeFactory(
        number="C00000011",
        subscription__account=AccountFactory(number="A00000101"),
        charge_type="Usage",
        charge_model="PerUnit",
        billing_timing="InArrears",
    )


def test_a_nul_in_a_usage_file_refuses_the_file_and_writes_nothing(usage_charge):
    rows = [f"A00000101,C00000011,{n},2026-01-10" for n in range(1, 6_000)]  # a batch written
    rows.append("A00000101,C\x0000000011,1,2026-01-11")
    with pytest.raises(ImportFileError) as error:
        import_usage(text(USAGE_HEADER, *rows), file_name="u.csv", write_valid=True)
    assert str(error.value) == (
        "The file holds a NUL character (row 6001, column charge_number), so it is not CSV "
        "text: save it as CSV UTF-8."
    )
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize(
    "row, where",
    [
        (account_row(number="A\x00X"), "row 2, column account_number"),
        (account_row(ref="r", name="Acme\x00"), "row 2, column account_name"),
    ],
)
def test_a_nul_in_an_accounts_file_refuses_the_file(row, where):
    with pytest.raises(ImportFileError, match=rf"NUL character \({where}\)"):
        import_accounts(text(ACCOUNTS_HEADER, row), file_name="a.csv", write_valid=True)
    assert not Account.objects.exists()


def test_a_nul_in_the_header_refuses_the_file():
    with pytest.raises(ImportFileError, match=r"NUL character \(row 1\)"):
        import_usage(text("account_number\x00,charge_number"), file_name="u.csv")


def test_a_utf16_file_on_the_page_says_to_save_it_as_utf8(logged_in, usage_charge):
    content = (USAGE_HEADER + "\nA00000101,C00000011,1,2026-01-10\n").encode("utf-16-le")
    response = logged_in.post(
        reverse("accounts:import"),
        {"kind": "usage", "file": SimpleUploadedFile("u.csv", content, "text/csv")},
    )
    assert response.status_code == 200
    assert "so it is not CSV text: save it as CSV UTF-8." in response.content.decode()
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize(
    "tiers, message",
    [
        (DEEP, "not valid tiers: the JSON is nested too deeply"),
        ("[" * 100_000, "tiers are too long: at most 20,000 characters"),
        (f'[{{"up_to": {HUGE}}}]', "not valid tiers: a number has more than 14 digits"),
        (
            f'[{{"up_to": 1{"0" * 20}, "unit_price": "1"}}, {{"up_to": null}}]',
            "Tier 1 up_to is too large: at most 14 digits before the decimal point",
        ),
    ],
)
def test_tiers_that_exhaust_the_json_reader_are_a_row_error(tiers, message):
    result = import_accounts(text(ACCOUNTS_HEADER, tiers_row(tiers)), file_name="a.csv")
    assert [(e.row, e.column) for e in result.errors] == [(2, "tiers")]
    assert result.errors[0].message.startswith(message)
    assert not Account.objects.exists()


def test_import_accounts_command_says_what_is_wrong_with_deep_tiers(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(f"{ACCOUNTS_HEADER}\n{tiers_row(DEEP)}\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="^1 bad row and no valid row: nothing imported.$"):
        call_command("import_accounts", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == (
        "row 2, column tiers: not valid tiers: the JSON is nested too deeply\n"
    )


@pytest.mark.parametrize(
    "tiers, message",
    [(DEEP, "the JSON is nested too deeply"), (f'[{{"up_to": {HUGE}}}]', "more than 14 digits")],
)
def test_the_change_charge_form_says_what_is_wrong_with_the_tiers(tiers, message):
    charge = ChargeFactory(charge_model="Tiered", tiers=[{"up_to": None, "unit_price": "1"}])
    form = ChangeChargeForm({"effective_date": "2026-03-01", "tiers": tiers}, charge=charge)
    assert not form.is_valid()
    assert message in form.errors["tiers"][0]
