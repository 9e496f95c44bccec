"""The bill run list's totals: the invoice and credit memo amounts of the runs matching the
filters, per currency, added up in Python from each run's amounts_by_currency."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billruns import selectors
from billruns.models import BillRun
from invoicing.selectors import CurrencyTotals
from tests.factories import BillRunFactory

pytestmark = pytest.mark.django_db

LIST = reverse("billruns:list")
# session, user, the user's and the group's permissions, the count, the page, the totals.
LIST_QUERIES = 7


def many_runs(count: int, **fields) -> None:
    """`count` runs written in one statement, numbered from the sequence."""
    runs = [BillRunFactory.build(**fields) for _ in range(count)]
    BillRun.assign_numbers(runs)
    BillRun.objects.bulk_create(runs)


def billed(invoice: str, credit_memo: str = "0", currency: str = "USD") -> dict:
    return {currency: {"invoice": invoice, "credit_memo": credit_memo}}


def totals_section(response) -> str:
    found = re.search(
        r'<section[^>]*id="bill-run-totals".*?</section>', response.content.decode(), re.S
    )
    assert found, "the page shows no totals"
    return found.group(0)


def shown(response) -> dict:
    return {
        row.currency: (row.invoice_amount, row.credit_memo_amount)
        for row in response.context["totals"]
    }


@pytest.fixture
def runs():
    BillRunFactory(name="Posted", status="Posted", amounts_by_currency=billed("100.10", "5.05"))
    BillRunFactory(
        name="Completed",
        status="Completed",
        amounts_by_currency={
            "EUR": {"invoice": "7.000", "credit_memo": "0"},
            "USD": {"invoice": "20.20", "credit_memo": "0.00"},
        },
    )
    BillRunFactory(name="Pending", status="Pending")  # nothing billed yet: {}


def test_the_list_adds_up_every_run_per_currency(logged_in, runs):
    response = logged_in.get(LIST)
    assert response.context["totals"] == [
        CurrencyTotals("EUR", Decimal("7.000"), Decimal("0")),
        CurrencyTotals("USD", Decimal("120.30"), Decimal("5.05")),
    ]
    html = totals_section(response)
    assert "Totals of the 3 bill runs" in html and "matching the filters" not in html
    usd = re.search(r'<tr data-currency="USD">.*?</tr>', html, re.S).group(0)
    assert "$120.30" in usd and "$5.05" in usd
    assert "€7.00" in re.search(r'<tr data-currency="EUR">.*?</tr>', html, re.S).group(0)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "Posted"}, {"USD": (Decimal("100.10"), Decimal("5.05"))}),
        (
            {"status": "Completed"},
            {"EUR": (Decimal("7.000"), Decimal("0")), "USD": (Decimal("20.20"), Decimal("0"))},
        ),
        ({"q": "pend"}, {}),
    ],
)
def test_the_totals_follow_the_filters(logged_in, runs, query, expected):
    response = logged_in.get(LIST, query)
    assert shown(response) == expected


def test_filtered_totals_say_so(logged_in, runs):
    html = totals_section(logged_in.get(LIST, {"status": "Posted"}))
    assert "Totals of the 1 bill run matching the filters" in html


def test_runs_that_billed_nothing_yet_show_no_totals(logged_in):
    BillRunFactory(status="Pending")
    response = logged_in.get(LIST)
    assert response.context["totals"] == []
    assert 'id="bill-run-totals"' not in response.content.decode()


def test_two_currencies_are_never_added_together():
    BillRunFactory(amounts_by_currency=billed("1000", currency="JPY"))
    BillRunFactory(amounts_by_currency=billed("10.00", currency="USD"))
    BillRunFactory(amounts_by_currency=billed("1.001", "0.500", currency="BHD"))
    assert selectors.bill_run_totals(BillRun.objects.all()) == [
        CurrencyTotals("BHD", Decimal("1.001"), Decimal("0.500")),
        CurrencyTotals("JPY", Decimal("1000"), Decimal("0")),
        CurrencyTotals("USD", Decimal("10.00"), Decimal("0")),
    ]


def test_amounts_add_up_exactly():
    many_runs(1000, amounts_by_currency=billed("0.10", "0.01"))
    BillRunFactory(amounts_by_currency=billed("999999999999.99"))
    [usd] = selectors.bill_run_totals(BillRun.objects.all())
    assert usd.invoice_amount == Decimal("1000000000099.99")
    assert usd.credit_memo_amount == Decimal("10.00")


def test_the_totals_read_only_the_amounts_column_in_one_query(logged_in, runs):
    with CaptureQueriesContext(connection) as queries:
        selectors.bill_run_totals(selectors.bill_run_list().filter(status="Posted"))
    [query] = queries.captured_queries
    columns, tables = query["sql"].split(" FROM ", 1)
    assert re.fullmatch(r'SELECT "billruns_billrun"\."amounts_by_currency"( AS "\w+")?', columns)
    assert "JOIN" not in tables and "ORDER BY" not in tables


def test_the_list_with_totals_costs_the_same_queries_for_3_or_300_runs(
    logged_in, django_assert_max_num_queries
):
    BillRunFactory.create_batch(3, amounts_by_currency=billed("1.00"))
    with django_assert_max_num_queries(LIST_QUERIES):
        response = logged_in.get(LIST)
    assert shown(response) == {"USD": (Decimal("3.00"), Decimal("0"))}
    for currency in ("USD", "EUR"):
        many_runs(150, amounts_by_currency=billed("1.00", "0.50", currency=currency))
    with django_assert_max_num_queries(LIST_QUERIES):
        response = logged_in.get(LIST, {"o": "-number_of_accounts"})
    assert shown(response) == {
        "EUR": (Decimal("150.00"), Decimal("75.00")),
        "USD": (Decimal("153.00"), Decimal("75.00")),
    }
    assert len(response.context["page_obj"]) == 50
