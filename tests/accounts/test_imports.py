"""CSV import of usage records and of accounts: validation, the two modes, commands and page."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from accounts import imports
from accounts.imports import ImportFileError, import_accounts, import_usage
from accounts.imports import accounts as accounts_import
from accounts.imports import usage as usage_import
from accounts.models import Account, Charge, Subscription, UsageRecord
from billruns.models import BillRun
from tests.factories import AccountFactory, ChargeFactory, UsageRecordFactory, create_bill_run

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("accounts:import")
USAGE_HEADER = "account_number,charge_number,quantity,usage_date"


def text(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join(lines) + "\n")


def errors_of(result) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in result.errors]


def usage_charge(account: Account, number: str) -> Charge:
    return ChargeFactory(
        number=number,
        subscription__account=account,
        name="Data transfer",
        charge_type="Usage",
        charge_model="PerUnit",
        billing_timing="InArrears",
        price=Decimal("0.50"),
        uom="GB",
    )


@pytest.fixture
def customers():
    """Two accounts with a usage charge each; the first also has a recurring charge."""
    acme = AccountFactory(number="A00000101", name="Acme")
    globex = AccountFactory(number="A00000102", name="Globex")
    usage_charge(acme, "C00000011")
    ChargeFactory(number="C00000012", subscription__account=acme)  # Recurring, flat fee
    usage_charge(globex, "C00000021")
    return acme, globex


# One row for each kind of error, between three good rows (2, 3 and 16).
MIXED_USAGE = (
    USAGE_HEADER,
    "A00000101,C00000011,10,2026-01-10",
    "A00000101,C00000011,2.5,2026-01-11",
    "A00009999,C00000011,1,2026-01-12",
    "A00000101,C00009999,1,2026-01-12",
    "A00000101,C00000021,1,2026-01-12",
    "A00000101,C00000012,1,2026-01-12",
    "A00000101,C00000011,1,2026-01-32",
    "A00000101,C00000011,1,15/01/2026",
    "A00000101,C00000011,ten,2026-01-12",
    "A00000101,C00000011,-1,2026-01-12",
    "A00000101,C00000011,0.1234567,2026-01-12",
    "A00000101,C00000011,123456789012345,2026-01-12",
    ",C00000011,1,2026-01-12",
    "A00000101,C00000011,10.000,2026-01-10",
    "A00000102,C00000021,7,2026-01-20",
)
MIXED_USAGE_ERRORS = [
    (4, "account_number", "unknown account A00009999"),
    (5, "charge_number", "unknown charge C00009999"),
    (6, "charge_number", "charge C00000021 is not of account A00000101 (it belongs to A00000102)"),
    (
        7,
        "charge_number",
        "wrong charge type: C00000012 is a Recurring charge; usage goes on Usage charges",
    ),
    (8, "usage_date", "'2026-01-32' is not a date as YYYY-MM-DD"),
    (9, "usage_date", "'15/01/2026' is not a date as YYYY-MM-DD"),
    (10, "quantity", "'ten' is not a number (write it with a dot, like 12.5)"),
    (11, "quantity", "-1 is negative; it must be 0 or more"),
    (12, "quantity", "0.1234567 has more than 6 decimals"),
    (
        13,
        "quantity",
        "123456789012345 is too large: at most 14 digits before the decimal point",
    ),
    (14, "account_number", "missing value"),
    (15, "", "duplicate of row 2 (same account, charge, usage date and quantity)"),
]


# --- Usage ------------------------------------------------------------------------------------
def test_a_usage_file_with_bad_rows_reports_each_precisely_and_writes_nothing(customers):
    result = import_usage(text(*MIXED_USAGE), file_name="usage.csv")
    assert errors_of(result) == MIXED_USAGE_ERRORS
    assert (result.rows_read, result.rows_valid, result.bad_rows) == (15, 3, 12)
    assert (result.rows_written, result.written) == (0, False)
    assert not UsageRecord.objects.exists()


def test_write_valid_writes_exactly_the_good_usage_rows_with_their_source(customers):
    result = import_usage(text(*MIXED_USAGE), file_name="usage.csv", write_valid=True)
    assert errors_of(result) == MIXED_USAGE_ERRORS
    assert (result.rows_written, result.written) == (3, True)
    assert result.created_text() == "3 usage records"
    records = UsageRecord.objects.order_by("id").values_list(
        "account__number", "charge__number", "quantity", "usage_date", "status", "source"
    )
    assert list(records) == [
        ("A00000101", "C00000011", Decimal("10"), dt.date(2026, 1, 10), "Pending", "usage.csv:2"),
        ("A00000101", "C00000011", Decimal("2.5"), dt.date(2026, 1, 11), "Pending", "usage.csv:3"),
        ("A00000102", "C00000021", Decimal("7"), dt.date(2026, 1, 20), "Pending", "usage.csv:16"),
    ]


def test_imported_usage_is_stored_exactly_as_a_saved_record_is(customers):
    # The import inserts prepared rows, not models: what lands in the table (timestamps too,
    # which SQLite keeps as text) must be what a model's save would have written.
    with time_machine.travel(dt.datetime(2026, 2, 1, 12, 30, 5, 123456, tzinfo=dt.UTC), tick=False):
        import_usage(text(USAGE_HEADER, "A00000101,C00000011,2.50,2026-01-10"), file_name="u.csv")
        UsageRecordFactory(
            charge=Charge.objects.get(number="C00000011"),
            quantity=Decimal("2.50"),
            usage_date=dt.date(2026, 1, 10),
            source="u.csv:2",
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, charge_id, quantity, usage_date, status, line_id, source, "
            "created_at FROM accounts_usagerecord ORDER BY id"
        )
        imported, saved = cursor.fetchall()
    assert imported == saved


def test_a_bill_run_bills_exactly_the_imported_usage(customers, django_capture_on_commit_callbacks):
    acme, _ = customers
    later = UsageRecordFactory(
        charge=Charge.objects.get(number="C00000011"), usage_date=dt.date(2026, 2, 15)
    )
    import_usage(text(*MIXED_USAGE), file_name="usage.csv", write_valid=True)
    feb1 = dt.date(2026, 2, 1)
    with django_capture_on_commit_callbacks(execute=True):
        run = create_bill_run(acting_user=None, invoice_date=feb1, target_date=feb1)
    run.refresh_from_db()
    assert run.status == BillRun.Status.COMPLETED
    assert run.number_of_failures == 0
    billed = UsageRecord.objects.filter(status="Billed").order_by("id")
    assert list(billed.values_list("source", flat=True)) == [
        "usage.csv:2",
        "usage.csv:3",
        "usage.csv:16",
    ]
    assert all(record.line.document.bill_run_id == run.pk for record in billed)
    # 12.5 GB and 7 GB at 0.50: January's usage, billed in arrears.
    assert sorted(record.line.amount for record in billed) == [
        Decimal("3.50"),
        Decimal("6.25"),
        Decimal("6.25"),
    ]
    later.refresh_from_db()
    assert later.status == "Pending"  # dated after the target date


def test_in_all_or_nothing_mode_a_bad_row_in_a_later_batch_undoes_the_earlier_batches(
    customers, monkeypatch
):
    monkeypatch.setattr(usage_import, "BATCH_SIZE", 2)
    rows = [f"A00000101,C00000011,{n},2026-01-10" for n in range(1, 8)]
    result = import_usage(
        text(USAGE_HEADER, *rows, "A00000101,C00000011,x,2026-01-10"), file_name="u.csv"
    )
    assert errors_of(result) == [
        (9, "quantity", "'x' is not a number (write it with a dot, like 12.5)")
    ]
    assert (result.rows_valid, result.rows_written) == (7, 0)
    assert not UsageRecord.objects.exists()


def test_a_file_that_turns_unreadable_half_way_writes_nothing_even_with_write_valid(
    customers, monkeypatch
):
    monkeypatch.setattr(usage_import, "BATCH_SIZE", 2)
    good = "".join(f"A00000101,C00000011,{n},2026-01-10\n" for n in range(1, 6)).encode()
    raw = io.BytesIO(USAGE_HEADER.encode() + b"\n" + good + b"A00000101,C00000011,1,\xff\n")
    stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    with pytest.raises(ImportFileError, match="not UTF-8"):
        import_usage(stream, file_name="u.csv", write_valid=True)
    assert not UsageRecord.objects.exists()


def test_header_names_are_matched_without_case_spaces_or_a_bom_and_blank_rows_are_skipped(
    customers,
):
    stream = text(
        "\ufeff Usage_Date , Quantity,ACCOUNT_NUMBER,charge_number",
        "2026-01-10,1,A00000101,C00000011",
        "",
        ",,,",
        "2026-01-11,2,A00000101,C00000011",
    )
    result = import_usage(stream, file_name="usage.csv")
    assert (result.rows_read, result.rows_written, result.error_count) == (2, 2, 0)
    assert list(UsageRecord.objects.values_list("source", flat=True).order_by("id")) == [
        "usage.csv:2",
        "usage.csv:5",
    ]


@pytest.mark.parametrize(
    "header, message",
    [
        (
            "account_number,charge_number,quantity",
            "The header lacks the required column usage_date.",
        ),
        (
            "account_number,charge_number,quantity,usage_date,uom",
            "Unknown column in the header: 'uom'. The usage file has the columns "
            "account_number, charge_number, quantity, usage_date.",
        ),
        (
            "account_number,charge_number,quantity,usage_date,quantity",
            "The header names the column 'quantity' twice.",
        ),
    ],
)
def test_a_bad_header_makes_the_whole_file_unreadable(customers, header, message):
    with pytest.raises(ImportFileError) as error:
        import_usage(text(header, "A00000101,C00000011,1,2026-01-10"), file_name="u.csv")
    assert str(error.value) == message


def test_an_empty_file_is_unreadable():
    with pytest.raises(ImportFileError, match="The file is empty"):
        import_usage(io.StringIO(""), file_name="u.csv")


def test_a_row_with_more_values_than_columns_is_refused(customers):
    result = import_usage(
        text(
            USAGE_HEADER, "A00000101,C00000011,1,2026-01-10,GB", "A00000101,C00000011,2,2026-01-10,"
        ),
        file_name="u.csv",
    )
    assert errors_of(result) == [(2, "", "has 5 values but the header has 4 columns")]
    assert result.rows_valid == 1


def test_a_long_file_name_is_shortened_to_fit_the_source(customers):
    name = "x" * 300 + ".csv"
    import_usage(text(USAGE_HEADER, "A00000101,C00000011,1,2026-01-10"), file_name=f"/tmp/{name}")
    source = UsageRecord.objects.get().source
    assert len(source) <= 255
    assert source.startswith("xxx") and source.endswith("xxxx.csv:2") and "…" in source


def test_twenty_thousand_usage_rows_import_with_a_bounded_number_of_queries(
    django_assert_max_num_queries,
):
    charges = []
    for n in range(5):
        account = AccountFactory(number=f"A0000020{n}")
        charges += [
            (account.number, usage_charge(account, f"C000002{n}{m}").number) for m in range(4)
        ]
    lines = [USAGE_HEADER]
    for i in range(20_000):
        account_number, charge_number = charges[i % len(charges)]
        lines.append(f"{account_number},{charge_number},{i}.5,2026-01-{1 + i % 28:02d}")
    # Four batches: one lookup per kind, one insert per batch, the transaction's savepoint.
    with django_assert_max_num_queries(12):
        result = import_usage(text(*lines), file_name="big.csv")
    assert (result.rows_written, result.error_count) == (20_000, 0)
    assert UsageRecord.objects.count() == 20_000


# --- Accounts ---------------------------------------------------------------------------------
ACCOUNTS_HEADER = (
    "account_number,account_ref,account_name,currency,bill_cycle_day,batch,bill_to_name,"
    "bill_to_email,payment_term_days,subscription_ref,term_start,term_end,charge_name,"
    "charge_type,charge_model,price,quantity,billing_period,billing_timing,effective_start,"
    "effective_end,uom,tiers"
)
TIERS = '"[{""up_to"": 100, ""unit_price"": 0.10}, {""up_to"": null, ""unit_price"": ""0.08""}]"'
GOOD_ACCOUNTS = (
    ACCOUNTS_HEADER,
    ",acme,Acme Corp,USD,1,Batch2,Jane Doe,billing@acme.example,15,main,2026-01-01,,"
    "Platform fee,Recurring,FlatFee,100.00,1,Month,InAdvance,2026-01-01,,,",
    ",acme,Acme Corp,USD,1,Batch2,Jane Doe,billing@acme.example,15,main,2026-01-01,,"
    f"API calls,Usage,Tiered,,,Month,,2026-01-01,,1K requests,{TIERS}",
    "LEGACY-7,,Globex,eur,15,,,,,s1,2026-03-01,2027-02-28,"
    "Setup,OneTime,FlatFee,-25.5,,,,2026-03-01,,,",
    ",acme,Acme Corp,USD,1,Batch2,Jane Doe,billing@acme.example,15,addon,2026-02-01,,"
    "Seats,Recurring,PerUnit,9,12,Quarter,InArrears,2026-02-15,2026-12-31,user,",
)


def test_an_accounts_file_creates_accounts_subscriptions_and_charges_with_numbers():
    result = import_accounts(text(*GOOD_ACCOUNTS), file_name="accounts.csv")
    assert result.errors == []
    assert (result.rows_read, result.rows_valid, result.rows_written) == (4, 4, 4)
    assert result.created_text() == "2 accounts, 3 subscriptions and 4 charges"
    acme, globex = Account.objects.order_by("id")
    assert [acme.number, globex.number] == ["A00000001", "LEGACY-7"]
    assert (
        acme.name,
        acme.status,
        acme.currency,
        acme.bill_cycle_day,
        acme.batch,
        acme.bill_to_name,
        acme.bill_to_email,
        acme.payment_term_days,
    ) == ("Acme Corp", "Active", "USD", 1, "Batch2", "Jane Doe", "billing@acme.example", 15)
    assert (globex.currency, globex.batch, globex.payment_term_days) == ("EUR", "Batch1", 30)
    subscriptions = Subscription.objects.order_by("id").values_list(
        "number", "account__number", "status", "term_start", "term_end"
    )
    assert list(subscriptions) == [
        ("S00000001", "A00000001", "Active", dt.date(2026, 1, 1), None),
        ("S00000002", "A00000001", "Active", dt.date(2026, 2, 1), None),
        ("S00000003", "LEGACY-7", "Active", dt.date(2026, 3, 1), dt.date(2027, 2, 28)),
    ]
    charges = Charge.objects.order_by("id").values_list(
        "number",
        "subscription__number",
        "account__number",
        "name",
        "charge_type",
        "charge_model",
        "price",
        "quantity",
        "billing_period",
        "billing_timing",
        "effective_start",
        "effective_end",
        "uom",
        "tiers",
    )
    assert list(charges) == [
        (
            "C00000001", "S00000001", "A00000001", "Platform fee", "Recurring", "FlatFee",
            Decimal("100"), Decimal("1"), "Month", "InAdvance", dt.date(2026, 1, 1), None, "", [],
        ),
        (
            "C00000002", "S00000001", "A00000001", "API calls", "Usage", "Tiered",
            Decimal("0"), Decimal("1"), "Month", "InArrears", dt.date(2026, 1, 1), None,
            "1K requests",
            [{"up_to": 100, "unit_price": "0.10"}, {"up_to": None, "unit_price": "0.08"}],
        ),
        (
            "C00000003", "S00000002", "A00000001", "Seats", "Recurring", "PerUnit",
            Decimal("9"), Decimal("12"), "Quarter", "InArrears", dt.date(2026, 2, 15),
            dt.date(2026, 12, 31), "user", [],
        ),
        (
            "C00000004", "S00000003", "LEGACY-7", "Setup", "OneTime", "FlatFee",
            Decimal("-25.5"), Decimal("1"), "", "InAdvance", dt.date(2026, 3, 1), None, "", [],
        ),
    ]  # fmt: skip


ACCOUNT_ROW = (
    "{number},{ref},{name},{currency},1,{batch},,,,main,2026-01-01,,"
    "Fee,{charge_type},{charge_model},{price},,Month,,2026-01-01,,,{tiers}"
)


def account_row(**fields) -> str:
    values = {
        "number": "",
        "ref": "",
        "name": "Customer",
        "currency": "USD",
        "batch": "Batch1",
        "charge_type": "Recurring",
        "charge_model": "FlatFee",
        "price": "10",
        "tiers": "",
    }
    return ACCOUNT_ROW.format(**{**values, **fields})


def test_accounts_errors_are_reported_with_row_and_column_and_nothing_is_written():
    AccountFactory(number="LEGACY-1")
    lines = (
        ACCOUNTS_HEADER,
        account_row(ref="good"),
        account_row(ref="bad-currency", currency="XYZ"),
        account_row(ref="bad-batch", batch="Batch51"),
        account_row(ref="bad-type", charge_type="Monthly"),
        account_row(
            ref="bad-tiers",
            charge_model="Tiered",
            price="",
            tiers='"[{""up_to"": 100, ""unit_price"": ""0.10""}]"',
        ),
        account_row(ref="mixed", name="Mixed Ltd"),
        account_row(ref="mixed", name="Mixed Limited", currency="EUR"),
        account_row(number="LEGACY-1"),
        account_row(number="A00000050"),
        account_row(ref="bad-json", charge_model="Volume", price="", tiers="[{up_to: 1}"),
        account_row(),
    )
    result = import_accounts(text(*lines), file_name="accounts.csv")
    assert errors_of(result) == [
        (
            3,
            "currency",
            "XYZ is not an ISO 4217 currency code (for example USD, EUR, GBP, JPY)",
        ),
        (4, "batch", "'Batch51' is not a batch: use Batch1 … Batch50"),
        (
            5,
            "charge_type",
            "'Monthly' is not a charge type: use OneTime, Recurring or Usage",
        ),
        (6, "tiers", "The last tier must be open: set its up_to to null"),
        (
            7,
            "",
            "not imported: its account has errors on row 8, and an account is imported "
            "whole or not at all",
        ),
        (
            8,
            "account_name",
            "'Mixed Limited' differs from 'Mixed Ltd' on row 7, the account's first row: "
            "the account's columns must be the same on each of its rows",
        ),
        (
            8,
            "currency",
            "'EUR' differs from 'USD' on row 7, the account's first row: the account's "
            "columns must be the same on each of its rows",
        ),
        (
            9,
            "account_number",
            "account LEGACY-1 already exists: the import creates accounts and does not "
            "change existing ones",
        ),
        (
            10,
            "account_number",
            "A00000050 looks like an automatic number not handed out yet, so a later "
            "automatic number would collide with it: leave account_number blank (and use "
            "account_ref) or use another pattern",
        ),
        (
            11,
            "tiers",
            "not valid JSON (Expecting property name enclosed in double quotes at character 3)",
        ),
        (
            12,
            "account_ref",
            "give account_number, or account_ref to group a new account's rows",
        ),
    ]
    assert (result.rows_read, result.rows_valid, result.bad_rows) == (11, 1, 10)
    assert (result.rows_written, result.written) == (0, False)
    assert list(Account.objects.values_list("number", flat=True)) == ["LEGACY-1"]
    assert not Charge.objects.exists()


def test_write_valid_creates_only_the_accounts_whose_rows_are_all_good():
    lines = (
        ACCOUNTS_HEADER,
        account_row(ref="one", name="One"),
        account_row(ref="two", name="Two"),
        account_row(ref="one", name="One", charge_type="Usage"),  # a usage flat fee: refused
        account_row(ref="three", name="Three"),
    )
    result = import_accounts(text(*lines), file_name="accounts.csv", write_valid=True)
    assert errors_of(result) == [
        (
            2,
            "",
            "not imported: its account has errors on row 4, and an account is imported "
            "whole or not at all",
        ),
        (4, "charge_model", "Usage charges are rated per unit, tiered or volume"),
    ]
    assert (result.rows_valid, result.rows_written) == (2, 2)
    assert list(Account.objects.order_by("number").values_list("number", "name")) == [
        ("A00000001", "Two"),
        ("A00000002", "Three"),
    ]
    assert Charge.objects.count() == 2


@pytest.mark.parametrize(
    "fields, column, message",
    [
        ({"price": ""}, "price", "missing value: FlatFee charges need a price"),
        ({"price": '"1,5"'}, "price", "'1,5' is not a number (write it with a dot, like 12.5)"),
        (
            {"charge_model": "flatfee"},
            "charge_model",
            "'flatfee' is not a charge model: use FlatFee, PerUnit, Tiered or Volume",
        ),
        (
            {"tiers": '"[{""up_to"": null, ""unit_price"": ""1""}]"'},
            "tiers",
            "Only Tiered and Volume charges have tiers",
        ),
        ({"name": ""}, "account_name", "missing value"),
    ],
)
def test_each_bad_charge_or_account_value_is_named(fields, column, message):
    result = import_accounts(
        text(ACCOUNTS_HEADER, account_row(ref="a", **fields)), file_name="a.csv"
    )
    assert errors_of(result) == [(2, column, message)]


def test_three_hundred_accounts_import_with_a_bounded_number_of_queries(
    django_assert_max_num_queries,
):
    lines = [ACCOUNTS_HEADER] + [account_row(ref=f"r{n}", name=f"Customer {n}") for n in range(300)]
    # 30 today: bulk inserts (13, as SQLite takes 999 parameters a statement), one sequence
    # block per model, savepoints, the given numbers' look-up. Nothing per row.
    with django_assert_max_num_queries(40):
        result = import_accounts(text(*lines), file_name="accounts.csv")
    assert result.created == {"accounts": 300, "subscriptions": 300, "charges": 300}
    assert Account.objects.order_by("-number").values_list("number", flat=True)[0] == "A00000300"


def test_a_number_taken_between_the_check_and_the_write_imports_nothing(monkeypatch):
    AccountFactory(number="LEGACY-1")
    monkeypatch.setattr(accounts_import, "_check_numbers", lambda *args, **kwargs: None)
    lines = (ACCOUNTS_HEADER, account_row(ref="new"), account_row(number="LEGACY-1"))
    with pytest.raises(ImportFileError, match="^The database refused the write"):
        import_accounts(text(*lines), file_name="accounts.csv")
    assert list(Account.objects.values_list("number", flat=True)) == ["LEGACY-1"]


def test_an_accounts_file_without_a_way_to_group_rows_is_unreadable():
    header = ACCOUNTS_HEADER.replace("account_number,account_ref,", "")
    with pytest.raises(ImportFileError, match="needs the column account_number or account_ref"):
        import_accounts(text(header), file_name="a.csv")


# --- Commands ---------------------------------------------------------------------------------
def run_command(name: str, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_usage_prints_each_error_and_exits_1_when_nothing_is_imported(customers, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(MIXED_USAGE) + "\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_usage", str(path), stdout=io.StringIO(), stderr=err)
    assert str(error.value) == (
        "12 bad rows: nothing imported (use --write-valid to import the 3 valid rows)."
    )
    lines = err.getvalue().splitlines()
    assert lines[0] == "row 4, column account_number: unknown account A00009999"
    assert lines[11] == (
        "row 15: duplicate of row 2 (same account, charge, usage date and quantity)"
    )
    assert len(lines) == 12
    assert not UsageRecord.objects.exists()


def test_import_usage_with_write_valid_imports_the_good_rows(customers, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(MIXED_USAGE) + "\n", encoding="utf-8")
    out, err = run_command("import_usage", str(path), "--write-valid")
    assert re.fullmatch(
        r"Imported 3 usage records from 3 rows of usage.csv; skipped 12 bad rows in \d+\.\d s\.\n",
        out,
    )
    assert len(err.splitlines()) == 12
    assert UsageRecord.objects.count() == 3


def test_import_commands_list_at_most_100_errors(customers, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(USAGE_HEADER + "\n" + "A1,C1,1,2026-01-01\n" * 150, encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="^150 bad rows and no valid row: nothing imported.$"):
        call_command("import_usage", str(path), stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert len(lines) == 101
    assert lines[-1] == "… and 200 more errors"  # two errors on each row


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "Cannot read {path}: No such file or directory."),
        (
            "account_number,quantity\n",
            "usage.csv: The header lacks the required columns charge_number, usage_date.",
        ),
    ],
)
def test_an_unreadable_file_is_one_line_and_exit_1(tmp_path, content, message):
    path = tmp_path / "usage.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError) as error:
        run_command("import_usage", str(path))
    assert str(error.value) == message.format(path=path)


def test_import_accounts_creates_the_accounts_of_a_good_file(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join(GOOD_ACCOUNTS) + "\n", encoding="utf-8-sig")
    out, err = run_command("import_accounts", str(path))
    assert out.startswith(
        "Imported 2 accounts, 3 subscriptions and 4 charges from 4 rows of accounts.csv in "
    )
    assert err == ""
    assert Account.objects.count() == 2


def test_import_accounts_exits_1_on_a_bad_file(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(
        "\n".join([ACCOUNTS_HEADER, account_row(ref="a"), account_row(ref="b", batch="B")]),
        encoding="utf-8",
    )
    err = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_accounts", str(path), stdout=io.StringIO(), stderr=err)
    assert str(error.value) == (
        "1 bad row: nothing imported (use --write-valid to import the 1 valid row)."
    )
    assert err.getvalue() == "row 3, column batch: 'B' is not a batch: use Batch1 … Batch50\n"
    assert not Account.objects.exists()


# --- The page ---------------------------------------------------------------------------------
def upload(client, content: str, *, kind="usage", name="usage.csv", write_valid=False):
    data = {"kind": kind, "file": SimpleUploadedFile(name, content.encode(), "text/csv")}
    if write_valid:
        data["write_valid"] = "on"
    return client.post(IMPORT_URL, data)


def table_rows(response) -> list[tuple[str, str, str]]:
    table = response.content.decode().split('id="import-errors"')[1].split("</table>")[0]
    return re.findall(
        r"<tr><td class=\"num\">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table
    )


def test_an_upload_with_errors_shows_them_and_writes_nothing(client, operator, customers):
    client.force_login(operator)
    response = upload(client, "\n".join(MIXED_USAGE))
    assert response.status_code == 200
    rows = table_rows(response)
    assert len(rows) == 12
    assert rows[0] == ("4", "account_number", "unknown account A00009999")
    assert rows[-1] == (
        "15",
        "—",
        "duplicate of row 2 (same account, charge, usage date and quantity)",
    )
    assert "12 bad rows of 15: nothing imported." in response.content.decode()
    assert not UsageRecord.objects.exists()


def test_an_upload_with_write_valid_writes_the_good_rows_and_lists_the_skipped_ones(
    client, operator, customers, settings
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # the upload is a temporary file on disk
    client.force_login(operator)
    response = upload(client, "\n".join(MIXED_USAGE), write_valid=True)
    assert response.status_code == 302
    assert response["Location"] == IMPORT_URL
    assert UsageRecord.objects.count() == 3
    page = client.get(IMPORT_URL)
    content = page.content.decode()
    assert "Imported 3 usage records from 3 rows of usage.csv." in content
    assert "Skipped 12 bad rows, listed below." in content
    assert len(table_rows(page)) == 12
    # The result is shown once: reloading shows the empty form, and imports nothing again.
    assert 'id="import-result"' not in client.get(IMPORT_URL).content.decode()
    assert UsageRecord.objects.count() == 3


def test_an_accounts_upload_creates_the_accounts(client, operator):
    client.force_login(operator)
    response = upload(client, "\n".join(GOOD_ACCOUNTS), kind="accounts", name="accounts.csv")
    assert response.status_code == 302
    assert Account.objects.count() == 2
    content = client.get(IMPORT_URL).content.decode()
    assert "Imported 2 accounts, 3 subscriptions and 4 charges from 4 rows" in content


def test_a_file_with_a_bad_header_is_a_form_error(client, operator):
    client.force_login(operator)
    response = upload(client, "account_number,quantity\nA1,1\n")
    assert response.status_code == 200
    assert "The header lacks the required columns charge_number, usage_date." in (
        response.content.decode()
    )


def test_the_page_documents_both_kinds_and_offers_their_templates(client, operator):
    client.force_login(operator)
    content = client.get(IMPORT_URL).content.decode()
    assert 'data-testid="columns-accounts"' in content
    assert 'data-testid="columns-usage"' in content
    for kind in ("accounts", "usage"):
        assert f'href="{reverse("accounts:import_template", args=[kind])}"' in content


@pytest.mark.parametrize(
    "kind, header",
    [
        ("usage", USAGE_HEADER),
        ("accounts", ACCOUNTS_HEADER),
    ],
)
def test_the_template_download_has_the_documented_header_and_an_example_row(
    client, operator, kind, header
):
    client.force_login(operator)
    response = client.get(reverse("accounts:import_template", args=[kind]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"{kind}-import-template.csv" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0] == header
    assert lines[0].split(",") == [c.name for c in imports.COLUMNS[kind]]
    assert len(lines) == 2


def test_the_example_rows_of_the_templates_import_cleanly(customers):
    accounts = import_accounts(io.StringIO(imports.template_csv("accounts")), file_name="t.csv")
    assert (accounts.error_count, accounts.rows_written) == (0, 1)
    usage = imports.template_csv("usage").replace("C00000003", "C00000011")
    usage = usage.replace("A00000001", "A00000101")
    assert import_usage(io.StringIO(usage), file_name="t.csv").rows_written == 1


def test_a_viewer_may_not_import(client, viewer):
    client.force_login(viewer)
    assert client.get(IMPORT_URL).status_code == 403
    assert upload(client, USAGE_HEADER).status_code == 403
    assert client.get(reverse("accounts:import_template", args=["usage"])).status_code == 403


def test_a_user_who_may_add_usage_only_sees_only_the_usage_kind(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("meter")
    user.user_permissions.add(Permission.objects.get(codename="add_usagerecord"))
    client.force_login(user)
    content = client.get(IMPORT_URL).content.decode()
    assert 'value="usage"' in content and 'value="accounts"' not in content
    response = upload(client, "\n".join(GOOD_ACCOUNTS), kind="accounts", name="accounts.csv")
    assert response.status_code == 200
    assert not Account.objects.exists()
    assert client.get(reverse("accounts:import_template", args=["accounts"])).status_code == 403


def test_the_import_button_shows_for_an_operator_and_not_for_a_viewer(client, operator, viewer):
    client.force_login(operator)
    assert 'data-testid="import-button"' in client.get(reverse("accounts:list")).content.decode()
    client.force_login(viewer)
    assert (
        'data-testid="import-button"' not in client.get(reverse("accounts:list")).content.decode()
    )
