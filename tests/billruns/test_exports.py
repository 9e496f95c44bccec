"""Exports of bill runs (CSV, XLSX, page and command) and of a run's documents (CSV)."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse
from django.urls import reverse
from openpyxl import load_workbook

from billruns.exports import files
from billruns.models import BillRun
from tests.factories import AccountFactory, BillingDocumentFactory, BillRunFactory, UserFactory

pytestmark = pytest.mark.django_db

EXPORT = reverse("billruns:export")
LIST = reverse("billruns:list")
CREATED = dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC)
STARTED = dt.datetime(2026, 2, 1, 9, 0, 5, tzinfo=dt.UTC)
# 83.456 s after STARTED; the export keeps whole seconds of a timestamp.
ENDED = dt.datetime(2026, 2, 1, 9, 1, 28, 456000, tzinfo=dt.UTC)
UPDATED = dt.datetime(2026, 2, 2, 8, 15, tzinfo=dt.UTC)
POSTED = dt.datetime(2026, 2, 2, 14, 30, tzinfo=dt.UTC)
FEB1 = dt.date(2026, 2, 1)
FEB28 = dt.date(2026, 2, 28)

# DESIGN §7's Billing Run data source fields, in order, then the statistics.
HEADER = [
    "Billing Run Number",
    "Billing Run Type",
    "Created By",
    "Created Date",
    "End Date",
    "Error Message",
    "Executed Date",
    "ID",
    "Invoice Date",
    "Name",
    "Number Of Accounts",
    "Number Of Credit Memos",
    "Number Of Invoices",
    "Posted Date",
    "Start Date",
    "Status",
    "Target Date",
    "Target Type",
    "Total Time",
    "Updated By",
    "Updated Date",
    "Number Of Failures",
    "Number Of Zero Amount Invoices",
    "Invoice Amount",
    "Credit Memo Amount",
    "Amounts By Currency",
]
DOCUMENT_HEADER = [
    "Number",
    "Account Number",
    "Account Name",
    "Kind",
    "Status",
    "Document Date",
    "Due Date",
    "Target Date",
    "Amount",
    "Currency",
]
DATE_COLUMNS = {"Invoice Date", "Target Date", "Document Date", "Due Date"}
USD_BILLED = {"USD": {"invoice": "300.000", "credit_memo": "0.000"}}


def make_run(name: str, *, updated_at: dt.datetime = CREATED, **fields) -> BillRun:
    fields.setdefault("created_by", UserFactory(username="alice"))
    with time_machine.travel(CREATED, tick=False):
        run = BillRunFactory(name=name, invoice_date=FEB1, target_date=FEB28, **fields)
    # updated_at is auto_now: set the moment the run last changed the way a service would.
    BillRun.objects.filter(pk=run.pk).update(updated_at=updated_at)
    return run


def finished(**fields) -> dict:
    """A run that has processed 3 USD accounts, as the finalising chunk leaves it."""
    return {
        "executed_at": STARTED,
        "completed_at": ENDED,
        "total_time_ms": 83456,
        "number_of_accounts": 3,
        "number_of_invoices": 3,
        "invoice_amount": Decimal("300.00"),
        "amounts_by_currency": USD_BILLED,
        **fields,
    }


@pytest.fixture
def runs(db):
    """One run in each status, and a scheduled one billed in two currencies."""
    bob = UserFactory(username="bob")
    return {
        run.name: run
        for run in [
            make_run("Pending run"),
            make_run(
                "Processing run",
                status="Processing",
                executed_at=STARTED,
                chunks_total=3,
                chunks_done=1,
                updated_at=STARTED,
            ),
            make_run(
                "Completed run",
                status="Completed",
                updated_at=ENDED,
                **finished(
                    number_of_accounts=12,
                    number_of_invoices=10,
                    number_of_zero_amount_invoices=1,
                    number_of_credit_memos=1,
                    number_of_failures=1,
                    invoice_amount=Decimal("1234.50"),
                    credit_memo_amount=Decimal("20.00"),
                    amounts_by_currency={"USD": {"invoice": "1234.500", "credit_memo": "20.000"}},
                ),
            ),
            make_run(
                "Error run",
                status="Error",
                updated_at=ENDED,
                **finished(
                    total_time_ms=1500,
                    number_of_accounts=0,
                    number_of_invoices=0,
                    invoice_amount=Decimal("0"),
                    amounts_by_currency={},
                    error_message="2 of 3 chunks could not be written.",
                ),
            ),
            make_run(
                "Canceling run",
                status="CancelInProgress",
                updated_by=bob,
                updated_at=UPDATED,
                **finished(),
            ),
            make_run(
                "Canceled run",
                status="Canceled",
                updated_by=bob,
                updated_at=UPDATED,
                canceled_at=UPDATED,
                canceled_by=bob,
                **finished(),
            ),
            make_run(
                "Posting run",
                status="PostInProgress",
                updated_by=bob,
                updated_at=UPDATED,
                **finished(),
            ),
            make_run(
                "Posted run",
                status="Posted",
                target_type="SingleAccount",
                account=AccountFactory(name="Acme"),
                updated_by=bob,
                updated_at=POSTED,
                posted_at=POSTED,
                posted_by=bob,
                **finished(number_of_accounts=1, number_of_invoices=1),
            ),
            make_run(
                "Nightly run",
                run_type="Scheduled",
                status="Completed",
                created_by=None,
                updated_at=ENDED,
                **finished(
                    number_of_accounts=2,
                    number_of_invoices=2,
                    invoice_amount=Decimal("0"),
                    amounts_by_currency={
                        "JPY": {"invoice": "1235", "credit_memo": "0"},
                        "EUR": {"invoice": "10.000", "credit_memo": "0.000"},
                    },
                ),
            ),
        ]
    }


def expected_rows(runs) -> dict[str, dict[str, str]]:
    """Every column of every run, as CSV text."""
    base = {
        "Billing Run Type": "AdHoc",
        "Created By": "alice",
        "Created Date": "2026-02-01T09:00:00+00:00",
        "End Date": "",
        "Error Message": "",
        "Executed Date": "",
        "Invoice Date": "2026-02-01",
        "Number Of Accounts": "0",
        "Number Of Credit Memos": "0",
        "Number Of Invoices": "0",
        "Posted Date": "",
        "Start Date": "",
        "Status": "Pending",
        "Target Date": "2026-02-28",
        "Target Type": "MultipleAccounts",
        "Total Time": "",
        "Updated By": "",
        "Updated Date": "2026-02-01T09:00:00+00:00",
        "Number Of Failures": "0",
        "Number Of Zero Amount Invoices": "0",
        "Invoice Amount": "",
        "Credit Memo Amount": "",
        "Amounts By Currency": "",
    }
    finished_usd = {
        "Executed Date": "2026-02-01T09:00:05+00:00",
        "Start Date": "2026-02-01T09:00:05+00:00",
        "End Date": "2026-02-01T09:01:28+00:00",
        "Total Time": "83.456",
        "Number Of Accounts": "3",
        "Number Of Invoices": "3",
        "Invoice Amount": "300.00",
        "Credit Memo Amount": "0.00",
        "Amounts By Currency": "USD invoice 300.00 credit 0.00",
    }
    by_bob = {"Updated By": "bob", "Updated Date": "2026-02-02T08:15:00+00:00"}
    overrides = {
        "Pending run": {},
        "Processing run": {
            "Status": "Processing",
            "Executed Date": "2026-02-01T09:00:05+00:00",
            "Start Date": "2026-02-01T09:00:05+00:00",
            "Updated Date": "2026-02-01T09:00:05+00:00",
        },
        "Completed run": {
            **finished_usd,
            "Status": "Completed",
            "Updated Date": "2026-02-01T09:01:28+00:00",
            "Number Of Accounts": "12",
            "Number Of Invoices": "10",
            "Number Of Zero Amount Invoices": "1",
            "Number Of Credit Memos": "1",
            "Number Of Failures": "1",
            "Invoice Amount": "1234.50",
            "Credit Memo Amount": "20.00",
            "Amounts By Currency": "USD invoice 1234.50 credit 20.00",
        },
        "Error run": {
            **finished_usd,
            "Status": "Error",
            "Updated Date": "2026-02-01T09:01:28+00:00",
            "Error Message": "2 of 3 chunks could not be written.",
            "Total Time": "1.500",
            "Number Of Accounts": "0",
            "Number Of Invoices": "0",
            "Invoice Amount": "",
            "Credit Memo Amount": "",
            "Amounts By Currency": "",
        },
        "Canceling run": {**finished_usd, **by_bob, "Status": "CancelInProgress"},
        "Canceled run": {**finished_usd, **by_bob, "Status": "Canceled"},
        "Posting run": {**finished_usd, **by_bob, "Status": "PostInProgress"},
        "Posted run": {
            **finished_usd,
            **by_bob,
            "Status": "Posted",
            "Target Type": "SingleAccount",
            "Posted Date": "2026-02-02T14:30:00+00:00",
            "Updated Date": "2026-02-02T14:30:00+00:00",
            "Number Of Accounts": "1",
            "Number Of Invoices": "1",
        },
        "Nightly run": {
            **finished_usd,
            "Billing Run Type": "Scheduled",
            "Status": "Completed",
            "Created By": "",
            "Updated Date": "2026-02-01T09:01:28+00:00",
            "Number Of Accounts": "2",
            "Number Of Invoices": "2",
            # Two currencies are never added: read the amounts per currency.
            "Invoice Amount": "",
            "Credit Memo Amount": "",
            "Amounts By Currency": "EUR invoice 10.00 credit 0.00; JPY invoice 1235 credit 0",
        },
    }
    return {
        name: {
            **base,
            "Billing Run Number": runs[name].number,
            "ID": str(runs[name].pk),
            "Name": name,
            **changes,
        }
        for name, changes in overrides.items()
    }


def csv_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def csv_records(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def xlsx_of(content: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    # A read-only sheet ends a row at its last value: pad it back to the header's width.
    width = len(rows[0])
    return [row + (None,) * (width - len(row)) for row in rows]


def xlsx_as_text(header, row) -> dict[str, str]:
    """An XLSX row in the CSV's words, so one table of expectations serves both formats."""
    record = {}
    for column, value in zip(header, row, strict=True):
        if value is None:
            text = ""
        elif isinstance(value, dt.datetime) and column in DATE_COLUMNS:
            assert value.time() == dt.time(0)
            text = value.date().isoformat()
        elif isinstance(value, dt.datetime):
            # Excel has no time zones: the export writes naive UTC.
            text = value.replace(tzinfo=dt.UTC).isoformat()
        elif isinstance(value, int | float):
            text = str(Decimal(str(value)))
        else:
            text = value
        record[column] = text
    return record


def numbers_equal(record: dict[str, str], expected: dict[str, str]) -> dict[str, str]:
    """Numbers compared by value: a spreadsheet keeps 1234.5, its cell format shows 1234.50."""
    normalised = dict(expected)
    for column, text in expected.items():
        got = record[column]
        if text and got and column not in {"Name", "Billing Run Number"}:
            try:
                if Decimal(got) == Decimal(text):
                    normalised[column] = got
            except ArithmeticError:
                pass
    return normalised


# -- the page's export ---------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC), tick=False)
def test_the_csv_export_has_the_billing_run_fields_of_every_status(logged_in, runs, settings):
    settings.TIME_ZONE = "America/New_York"  # the file is UTC whatever the server's zone
    response = logged_in.get(EXPORT, {"format": "csv"})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="bill-runs-20260304-050607.csv"'
    rows = csv_of(response)
    assert rows[0] == HEADER
    records = {record["Name"]: record for record in csv_records(rows)}
    expected = expected_rows(runs)
    assert set(records) == set(expected)
    for name, record in records.items():
        assert record == expected[name], name


@time_machine.travel(dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC), tick=False)
def test_the_xlsx_export_has_the_same_fields_as_real_dates_and_numbers(logged_in, runs):
    response = logged_in.get(EXPORT, {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == files.XLSX_CONTENT_TYPE
    assert (
        response["Content-Disposition"] == 'attachment; filename="bill-runs-20260304-050607.xlsx"'
    )
    rows = xlsx_of(b"".join(response.streaming_content))
    assert list(rows[0]) == HEADER
    expected = expected_rows(runs)
    records = {row[HEADER.index("Name")]: xlsx_as_text(HEADER, row) for row in rows[1:]}
    assert set(records) == set(expected)
    for name, record in records.items():
        assert record == numbers_equal(record, expected[name]), name
    completed = next(row for row in rows if row[HEADER.index("Name")] == "Completed run")
    assert isinstance(completed[HEADER.index("Invoice Date")], dt.datetime)
    assert completed[HEADER.index("Created Date")] == dt.datetime(2026, 2, 1, 9, 0)
    assert isinstance(completed[HEADER.index("ID")], int)


def test_xlsx_amounts_keep_the_currencys_decimals_on_display(logged_in, runs):
    response = logged_in.get(EXPORT, {"format": "xlsx", "q": runs["Completed run"].number})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    row = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    amount = row[HEADER.index("Invoice Amount")]
    assert Decimal(str(amount.value)) == Decimal("1234.50")
    assert amount.number_format == "0.00"
    assert row[HEADER.index("Total Time")].number_format == "0.000"


def test_xlsx_keeps_text_that_looks_like_a_formula_as_text(logged_in):
    make_run('=HYPERLINK("http://example.com","Click")')
    response = logged_in.get(EXPORT, {"format": "xlsx"})
    rows = xlsx_of(b"".join(response.streaming_content))
    assert rows[1][HEADER.index("Name")] == '=HYPERLINK("http://example.com","Click")'


def test_an_xlsx_past_excels_row_limit_is_refused(logged_in, runs, monkeypatch):
    monkeypatch.setattr(files, "XLSX_MAX_ROWS", 3)
    response = logged_in.get(EXPORT, {"format": "xlsx"})
    assert response.status_code == 400
    assert response.content.decode() == (
        "An XLSX sheet holds at most 2 rows: narrow the filters or export CSV.\n"
    )


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"status": "Error"}, ["Error run"]),
        ({"status": "CancelInProgress"}, ["Canceling run"]),
        ({"has_failures": "true"}, ["Completed run"]),
        ({"run_type": "Scheduled"}, ["Nightly run"]),
        ({"q": "post", "o": "name"}, ["Posted run", "Posting run"]),
        ({"q": "post", "o": "-name"}, ["Posting run", "Posted run"]),
        # The list's page number is not a filter: the export has every matching run.
        ({"status": "Canceled", "page": "7"}, ["Canceled run"]),
    ],
)
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_the_export_honours_the_list_pages_filters_and_sort(
    logged_in, runs, query, names, export_format
):
    response = logged_in.get(EXPORT, {**query, "format": export_format})
    if export_format == "csv":
        rows = csv_of(response)
    else:
        rows = xlsx_of(b"".join(response.streaming_content))
    assert [row[HEADER.index("Name")] for row in rows[1:]] == names


def test_the_export_is_sorted_like_the_list(logged_in, runs):
    response = logged_in.get(EXPORT, {"format": "csv", "o": "-number"})
    numbers = [row[0] for row in csv_of(response)[1:]]
    assert numbers == sorted((run.number for run in runs.values()), reverse=True)
    page_numbers = [run.number for run in logged_in.get(LIST, {"o": "-number"}).context["page_obj"]]
    assert numbers == page_numbers


def test_without_a_sort_the_export_lists_the_newest_run_first(logged_in):
    with time_machine.travel(dt.datetime(2026, 1, 5, tzinfo=dt.UTC), tick=False):
        BillRunFactory(name="Older")
    with time_machine.travel(dt.datetime(2026, 1, 6, tzinfo=dt.UTC), tick=False):
        BillRunFactory(name="Newer")
    rows = csv_of(logged_in.get(EXPORT, {"format": "csv"}))
    assert [row[HEADER.index("Name")] for row in rows[1:]] == ["Newer", "Older"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "Choose the export format: format=csv or format=xlsx."),
        ({"format": "pdf"}, "Choose the export format: format=csv or format=xlsx."),
        (
            {"format": "csv", "created_after": "yesterday"},
            "Invalid filter Created from: Enter a valid date.",
        ),
        (
            {"format": "xlsx", "status": "Done"},
            "Invalid filter Status: Select a valid choice. Done is not one of the available "
            "choices.",
        ),
    ],
)
def test_a_bad_export_request_gets_one_line_and_400(logged_in, query, message):
    response = logged_in.get(EXPORT, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == message + "\n"


def test_a_viewer_can_export(client, viewer, runs):
    client.force_login(viewer)
    assert len(csv_of(client.get(EXPORT, {"format": "csv"}))) == 1 + len(runs)
    assert len(xlsx_of(b"".join(client.get(EXPORT, {"format": "xlsx"}).streaming_content))) == 10
    run = runs["Completed run"]
    assert client.get(reverse("billruns:export_documents", args=[run.pk])).status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in(client, runs):
    run = runs["Completed run"]
    for url in [EXPORT + "?format=csv", reverse("billruns:export_documents", args=[run.pk])]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_user_without_view_permission_is_refused(client, runs):
    client.force_login(UserFactory(username="mallory"))
    assert client.get(EXPORT, {"format": "csv"}).status_code == 403
    run = runs["Completed run"]
    assert client.get(reverse("billruns:export_documents", args=[run.pk])).status_code == 403


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_exporting_thousands_of_runs_takes_a_fixed_number_of_queries(
    logged_in, django_assert_max_num_queries, export_format
):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    BillRun.objects.bulk_create(
        [
            BillRun(
                number=f"BR-{n:08d}",
                name=f"Run {n}",
                invoice_date=FEB1,
                target_date=FEB28,
                created_by=alice if n % 2 else bob,
                updated_by=bob,
                status="Completed",
                invoice_amount=Decimal("10.00"),
                amounts_by_currency={"USD": {"invoice": "10.00", "credit_memo": "0.00"}},
            )
            for n in range(1, 2501)
        ]
    )
    # Session, user, two permission reads, then the runs and their users in one query read
    # in chunks (a per-run query for created_by or updated_by would add thousands).
    with django_assert_max_num_queries(6):
        response = logged_in.get(EXPORT, {"format": export_format})
        content = b"".join(response.streaming_content)
    if export_format == "csv":
        assert isinstance(response, StreamingHttpResponse)
        rows = list(csv.reader(io.StringIO(content.decode())))
    else:
        rows = xlsx_of(content)
    assert len(rows) == 2501
    assert {row[HEADER.index("Created By")] for row in rows[1:]} == {"alice", "bob"}


def test_the_list_page_offers_both_exports_with_its_filters(logged_in, runs):
    html = logged_in.get(LIST, {"status": "Error", "o": "-number", "page": "1"}).content.decode()
    assert f'href="{EXPORT}?status=Error&amp;o=-number&amp;format=csv"' in html
    assert f'href="{EXPORT}?status=Error&amp;o=-number&amp;format=xlsx"' in html
    assert "Excel (XLSX)" in html


# -- a run's documents ---------------------------------------------------------------------------


@pytest.fixture
def run_with_documents(db):
    run = make_run("February", status="Completed")
    acme = AccountFactory(name="Acme, Inc.", currency="USD")
    tokyo = AccountFactory(name="Tokyo KK", currency="JPY")
    documents = [
        BillingDocumentFactory(
            bill_run=run,
            number="INV00000002",
            account=acme,
            amount=Decimal("1234.50"),
            status="Posted",
            posted_at=POSTED,
        ),
        BillingDocumentFactory(
            bill_run=run, number="INV00000001", account=acme, amount=Decimal("0")
        ),
        BillingDocumentFactory(
            bill_run=run,
            number="CM00000001",
            account=acme,
            kind="CreditMemo",
            amount=Decimal("20.00"),
        ),
        BillingDocumentFactory(
            bill_run=run,
            number="INV00000004",
            account=tokyo,
            amount=Decimal("1235"),
            target_date=FEB28,
            due_date=dt.date(2026, 3, 15),
        ),
    ]
    other = make_run("Another run", status="Completed")
    BillingDocumentFactory(bill_run=other, number="INV00000003", account=acme)
    return run, acme, tokyo, documents


def test_the_documents_csv_lists_exactly_the_runs_documents(logged_in, run_with_documents):
    run, acme, tokyo, _ = run_with_documents
    response = logged_in.get(reverse("billruns:export_documents", args=[run.pk]))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == (f'attachment; filename="{run.number}-documents.csv"')
    rows = csv_of(response)
    assert rows[0] == DOCUMENT_HEADER
    a, t = acme.number, tokyo.number
    assert rows[1:] == [
        [
            "CM00000001",
            a,
            "Acme, Inc.",
            "CreditMemo",
            "Draft",
            "2026-02-01",
            "2026-03-03",
            "2026-02-01",
            "20.00",
            "USD",
        ],
        [
            "INV00000001",
            a,
            "Acme, Inc.",
            "Invoice",
            "Draft",
            "2026-02-01",
            "2026-03-03",
            "2026-02-01",
            "0.00",
            "USD",
        ],
        [
            "INV00000002",
            a,
            "Acme, Inc.",
            "Invoice",
            "Posted",
            "2026-02-01",
            "2026-03-03",
            "2026-02-01",
            "1234.50",
            "USD",
        ],
        [
            "INV00000004",
            t,
            "Tokyo KK",
            "Invoice",
            "Draft",
            "2026-02-01",
            "2026-03-15",
            "2026-02-28",
            "1235",
            "JPY",
        ],
    ]


def test_the_documents_csv_of_an_unknown_run_is_not_found(logged_in):
    assert logged_in.get(reverse("billruns:export_documents", args=[999999])).status_code == 404


def test_the_documents_csv_reads_in_a_fixed_number_of_queries(
    logged_in, run_with_documents, django_assert_max_num_queries
):
    run, acme, _, _ = run_with_documents
    for n in range(10, 60):
        BillingDocumentFactory(bill_run=run, number=f"INV{n:08d}", account=AccountFactory())
    with django_assert_max_num_queries(7):
        response = logged_in.get(reverse("billruns:export_documents", args=[run.pk]))
        rows = csv_of(response)
    assert len(rows) == 1 + 4 + 50


def test_the_run_page_links_to_its_documents_csv(logged_in, run_with_documents):
    run, *_ = run_with_documents
    html = logged_in.get(run.get_absolute_url()).content.decode()
    assert f'href="{reverse("billruns:export_documents", args=[run.pk])}"' in html
    empty = make_run("Nothing billed")
    assert "Export documents (CSV)" not in logged_in.get(empty.get_absolute_url()).content.decode()


# -- the command ---------------------------------------------------------------------------------


def export(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_bill_runs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def names_in_csv(path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == HEADER
    return [row[HEADER.index("Name")] for row in rows[1:]]


def test_the_command_writes_a_csv_file_with_every_column(runs, tmp_path):
    path = tmp_path / "runs.csv"
    out, _ = export("--format", "csv", "--output", str(path))
    assert out == f"Wrote 9 bill runs to {path}.\n"
    with open(path, newline="", encoding="utf-8") as stream:
        records = {record["Name"]: record for record in csv.DictReader(stream)}
    assert records == expected_rows(runs)


def test_the_command_filters_like_the_page(runs, tmp_path):
    path = tmp_path / "runs.csv"
    export("--format", "csv", "--output", str(path), "--status", "Error", "--status", "Posted")
    assert sorted(names_in_csv(path)) == ["Error run", "Posted run"]
    export("--format", "csv", "--output", str(path), "--has-failures", "yes")
    assert names_in_csv(path) == ["Completed run"]
    export(
        "--format", "csv", "--output", str(path), "--has-failures", "no", "--status", "Completed"
    )
    assert names_in_csv(path) == ["Nightly run"]
    export("--format", "csv", "--output", str(path), "--search", runs["Canceled run"].number)
    assert names_in_csv(path) == ["Canceled run"]


def test_the_command_filters_by_created_and_target_dates(tmp_path):
    with time_machine.travel(dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC), tick=False):
        BillRunFactory(name="January", target_date=dt.date(2026, 1, 31))
    with time_machine.travel(dt.datetime(2026, 2, 10, 12, tzinfo=dt.UTC), tick=False):
        BillRunFactory(name="February", target_date=FEB28)
    path = tmp_path / "runs.csv"
    export("--format", "csv", "--output", str(path), "--created-from", "2026-02-01")
    assert names_in_csv(path) == ["February"]
    export("--format", "csv", "--output", str(path), "--created-to", "2026-01-10")
    assert names_in_csv(path) == ["January"]
    export(
        "--format",
        "csv",
        "--output",
        str(path),
        "--target-from",
        "2026-02-01",
        "--target-to",
        "2026-02-28",
    )
    assert names_in_csv(path) == ["February"]


def test_the_command_writes_an_xlsx_file(runs, tmp_path):
    path = tmp_path / "runs.xlsx"
    out, _ = export("--format", "xlsx", "--output", str(path), "--run-type", "Scheduled")
    assert out == f"Wrote 1 bill runs to {path}.\n"
    rows = xlsx_of(path.read_bytes())
    assert list(rows[0]) == HEADER
    record = xlsx_as_text(HEADER, rows[1])
    assert record == numbers_equal(record, expected_rows(runs)["Nightly run"])
    assert not list(tmp_path.glob("*.partial"))


def test_the_command_writes_csv_to_standard_output(runs):
    out, err = export("--format", "csv", "--output", "-", "--status", "Posted")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == HEADER
    assert [row[HEADER.index("Name")] for row in rows[1:]] == ["Posted run"]
    assert err == "Wrote 1 bill runs to standard output.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "{dir}/x.csv"], "--format must be csv or xlsx."),
        (
            ["--format", "pdf", "--output", "{dir}/x.pdf"],
            "--format must be csv or xlsx, not 'pdf'.",
        ),
        (["--format", "csv"], "--output is required: a file name, or - for standard output."),
        (
            ["--format", "xlsx", "--output", "-"],
            "XLSX cannot go to standard output: give --output FILE.xlsx.",
        ),
        (
            ["--format", "csv", "--output", "{dir}/x.csv", "--created-from", "2026-02-30"],
            "--created-from must be an ISO date such as 2026-02-01, not '2026-02-30'.",
        ),
        (
            ["--format", "csv", "--output", "{dir}/x.csv", "--target-to", "soon"],
            "--target-to must be an ISO date such as 2026-02-01, not 'soon'.",
        ),
        (
            ["--format", "csv", "--output", "{dir}/x.csv", "--status", "Done"],
            "Unknown status 'Done': use Pending, Processing, Completed, Error, CancelInProgress, "
            "Canceled, PostInProgress, Posted.",
        ),
        (
            ["--format", "csv", "--output", "{dir}/x.csv", "--run-type", "Manual"],
            "Unknown run type 'Manual': use AdHoc, Scheduled.",
        ),
        (
            ["--format", "csv", "--output", "{dir}/x.csv", "--has-failures", "maybe"],
            "--has-failures must be yes or no, not 'maybe'.",
        ),
        (
            ["--format", "csv", "--output", "{dir}/missing/x.csv"],
            "Cannot write {dir}/missing/x.csv: No such file or directory.",
        ),
    ],
)
def test_the_command_refuses_bad_input_with_one_line(runs, tmp_path, args, message):
    with pytest.raises(CommandError) as refused:
        export(*[arg.format(dir=tmp_path) for arg in args])
    assert str(refused.value) == message.format(dir=tmp_path)
    assert "\n" not in str(refused.value)
    assert refused.value.returncode == 1
    assert not list(tmp_path.rglob("*.*"))
