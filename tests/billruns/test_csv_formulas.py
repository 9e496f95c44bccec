"""Every CSV the app writes is safe to open in a spreadsheet (OWASP's CSV injection advice): a text
cell starting with = + - @, a tab or a carriage return gets a leading apostrophe, and numbers,
negative amounts included, stay numbers."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from billruns.preview import services as previews
from billruns.preview.execution import preview_chunk
from billruns.terms import RunTerms
from core.spreadsheets import csv_text
from tests.billruns.test_review import document
from tests.factories import AccountFactory, BillingDocumentFactory, BillRunFactory, ChargeFactory

pytestmark = pytest.mark.django_db

FEB1 = dt.date(2026, 2, 1)
JAN1 = dt.date(2026, 1, 1)
# What a spreadsheet would run as a formula: OWASP's six first characters, each with a payload.
PAYLOADS = [
    '=HYPERLINK("http://example.com","Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def downloaded(response) -> str:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize(
    ("text", "written"),
    [
        *[(payload, "'" + payload) for payload in PAYLOADS],
        ("Acme Corp", "Acme Corp"),
        ("", ""),
        ("a=1", "a=1"),
        (" =1", " =1"),
    ],
)
def test_text_that_starts_a_formula_gets_an_apostrophe_and_no_other_text_does(text, written):
    assert csv_text(text) == written


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_bill_runs_csv_of_the_list_page_neutralises_run_names(logged_in, payload):
    BillRunFactory(name=payload, invoice_date=FEB1, target_date=FEB1)
    response = logged_in.get(reverse("billruns:export"), {"format": "csv"})
    (row,) = rows_of(downloaded(response))
    assert row["Name"] == "'" + payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_export_bill_runs_neutralises_run_names_in_a_file_and_on_stdout(payload, tmp_path):
    BillRunFactory(name=payload, invoice_date=FEB1, target_date=FEB1)
    path = tmp_path / "runs.csv"
    call_command("export_bill_runs", "--format", "csv", "--output", str(path), stdout=io.StringIO())
    with open(path, encoding="utf-8", newline="") as stream:
        (row,) = rows_of(stream.read())
    assert row["Name"] == "'" + payload
    out = io.StringIO()
    call_command("export_bill_runs", "--format", "csv", "--output", "-", stdout=out)
    (row,) = rows_of(out.getvalue())
    assert row["Name"] == "'" + payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_documents_csv_neutralises_account_names_and_keeps_amounts_numbers(logged_in, payload):
    run = BillRunFactory(status="Completed")
    account = AccountFactory(name=payload)
    BillingDocumentFactory(
        bill_run=run, account=account, number="INV00000001", amount=Decimal("12.51")
    )
    response = logged_in.get(reverse("billruns:export_documents", args=[run.pk]))
    (row,) = rows_of(downloaded(response))
    assert row["Account Name"] == "'" + payload
    assert row["Amount"] == "12.51"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_review_csv_neutralises_account_names_and_keeps_negative_amounts(logged_in, payload):
    run = BillRunFactory(status="Completed")
    account = AccountFactory(name=payload)
    document(account, "100.00", day=JAN1)
    document(account, "12.00", run=run, kind="CreditMemo")
    response = logged_in.get(reverse("review:export", args=[run.pk]), {"format": "csv"})
    (row,) = rows_of(downloaded(response))
    assert row["Account Name"] == "'" + payload
    assert row["Amount"] == "-12.00"
    assert row["Previous Amount"] == "100.00"


def preview_here():
    """A preview of every account, rated here with the workers' own code."""
    terms = RunTerms(invoice_date=FEB1, target_date=FEB1)
    preview = previews.create_preview(terms=terms, acting_user=None, enqueue=False)
    previews.start_preview(preview_id=preview.pk, enqueue=False)
    for chunk_id in preview.chunks.values_list("id", flat=True):
        preview_chunk(chunk_id=chunk_id)
    return preview


@pytest.mark.parametrize("payload", [payload[:20] for payload in PAYLOADS])
def test_the_preview_csv_neutralises_numbers_given_on_import_and_keeps_negative_amounts(
    logged_in, payload
):
    charge = ChargeFactory(
        number=payload,
        subscription__number=payload,
        subscription__account__number=payload,
        price=Decimal("100.00"),
        effective_start=FEB1,
    )
    ChargeFactory(
        subscription=charge.subscription, number="C-CREDIT", price=Decimal("-12.00"),
        effective_start=FEB1,
    )  # fmt: skip
    preview = preview_here()
    response = logged_in.get(reverse("billruns:preview_csv", args=[preview.pk]))
    rows = rows_of(downloaded(response))
    assert [
        (r["accountNumber"], r["chargeNumber"], r["subscriptionNumber"], r["amount"]) for r in rows
    ] == [
        ("'" + payload, "'" + payload, "'" + payload, "100.00"),
        ("'" + payload, "C-CREDIT", "'" + payload, "-12.00"),
    ]
