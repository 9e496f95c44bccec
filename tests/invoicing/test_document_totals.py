"""The Documents list's totals: per currency and kind, following the filters, exact to the
minor unit on SQLite (where decimals are floats) as on PostgreSQL, in one query."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import DecimalField, Sum
from django.urls import reverse
from django.utils import timezone

from core.money import round_amount
from invoicing import selectors
from invoicing.models import BillingDocument
from invoicing.selectors import CurrencyTotals
from tests.factories import AccountFactory, BillingDocumentFactory, BillRunFactory

pytestmark = pytest.mark.django_db

LIST = reverse("invoicing:list")
INVOICE = BillingDocument.Kind.INVOICE
CREDIT_MEMO = BillingDocument.Kind.CREDIT_MEMO


def documents(count: int, amount: str, *, currency: str = "USD", kind: str = INVOICE, **fields):
    """`count` documents of `amount` each, written in one statement."""
    account = AccountFactory(currency=currency)
    BillingDocument.objects.bulk_create(
        BillingDocument(
            kind=kind,
            account=account,
            currency=currency,
            document_date=dt.date(2026, 2, 1),
            due_date=dt.date(2026, 3, 3),
            amount=Decimal(amount),
            **fields,
        )
        for _ in range(count)
    )


def totals(**filters) -> list[CurrencyTotals]:
    return selectors.document_totals(BillingDocument.objects.filter(**filters))


def totals_section(response) -> str:
    """The HTML of the page's totals card."""
    found = re.search(
        r'<section[^>]*id="document-totals".*?</section>', response.content.decode(), re.S
    )
    assert found, "the page shows no totals"
    return found.group(0)


def test_amounts_add_up_per_currency_and_kind_and_currencies_never_mix():
    documents(2, "10.00")
    documents(1, "2.50", kind=CREDIT_MEMO)
    documents(3, "1235", currency="JPY")
    documents(2, "1.001", currency="BHD", kind=CREDIT_MEMO)
    assert totals() == [
        CurrencyTotals("BHD", Decimal("0"), Decimal("2.002"), invoices=0, credit_memos=2),
        CurrencyTotals("JPY", Decimal("3705"), Decimal("0"), invoices=3, credit_memos=0),
        CurrencyTotals("USD", Decimal("20.00"), Decimal("2.50"), invoices=2, credit_memos=1),
    ]


def test_each_total_has_its_currencys_minor_unit():
    documents(2, "1235", currency="JPY")
    documents(1, "1.001", currency="BHD")
    jpy_and_bhd = {row.currency: row.invoice_amount.as_tuple().exponent for row in totals()}
    assert jpy_and_bhd == {"BHD": -3, "JPY": 0}


def test_a_thousand_tenths_make_exactly_a_hundred():
    documents(1000, "0.10")
    if connection.vendor == "sqlite":  # what a plain SQL SUM of the same column gives
        assert BillingDocument.objects.aggregate(s=Sum("amount"))["s"] != Decimal("100")
    [usd] = totals()
    assert usd.invoice_amount == Decimal("100.00")
    assert str(usd.invoice_amount) == "100.00"


def test_amounts_beyond_a_floats_digits_still_add_up_to_the_cent():
    # 19,999,999,999,999.80 needs 16 significant digits: a float sum cannot hold the cents.
    documents(20, "999999999999.99")
    documents(3, "0.01")
    if connection.vendor == "sqlite":  # a float SUM read through a DecimalField loses them
        as_float = Sum("amount", output_field=DecimalField(max_digits=18, decimal_places=3))
        summed = BillingDocument.objects.aggregate(s=as_float)["s"]
        assert round_amount(summed, "USD") != Decimal("19999999999999.83")
    [usd] = totals()
    assert usd.invoice_amount == Decimal("19999999999999.83")


def test_cents_that_floats_hold_inexactly_add_up_exactly():
    for amount in ("0.07", "0.29", "1.13", "12345.67", "0.99"):
        documents(7, amount)
    [usd] = totals()
    assert usd.invoice_amount == 7 * Decimal("12348.15")


def test_the_totals_are_one_query_whatever_the_number_of_documents(
    django_assert_num_queries,
):
    documents(3, "1.00")
    with django_assert_num_queries(1):
        totals()
    documents(500, "1.00", currency="EUR")
    documents(200, "1.00", kind=CREDIT_MEMO)
    with django_assert_num_queries(1):
        assert len(totals()) == 2


# -- the page ----------------------------------------------------------------------------------


@pytest.fixture
def mixed():
    """USD invoices (one posted), a USD credit memo, a EUR invoice; one run's documents."""
    run = BillRunFactory()
    acme = AccountFactory(name="Acme Widgets", currency="USD")
    globex = AccountFactory(name="Globex", currency="EUR")
    BillingDocumentFactory(
        number="INV00000001", account=acme, amount=Decimal("10.10"), bill_run=run
    )
    BillingDocumentFactory(
        number="INV00000002",
        account=acme,
        amount=Decimal("20.20"),
        status=BillingDocument.Status.POSTED,
        posted_at=timezone.now(),
    )
    BillingDocumentFactory(
        number="CM00000001", kind=CREDIT_MEMO, account=acme, amount=Decimal("5.05"), bill_run=run
    )
    BillingDocumentFactory(number="INV00000003", account=globex, amount=Decimal("7.00"))
    return {"run": run}


def test_the_page_shows_the_totals_of_every_document_per_currency(logged_in, mixed):
    response = logged_in.get(LIST)
    assert response.context["totals"] == [
        CurrencyTotals("EUR", Decimal("7.00"), Decimal("0"), invoices=1, credit_memos=0),
        CurrencyTotals("USD", Decimal("30.30"), Decimal("5.05"), invoices=2, credit_memos=1),
    ]
    html = totals_section(response)
    assert "Totals of the 4 documents" in html and "matching the filters" not in html
    usd = re.search(r'<tr data-currency="USD">.*?</tr>', html, re.S).group(0)
    assert "$30.30" in usd and "$5.05" in usd
    assert "€7.00" in re.search(r'<tr data-currency="EUR">.*?</tr>', html, re.S).group(0)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "CreditMemo"}, {"USD": (Decimal("0"), Decimal("5.05"))}),
        ({"status": "Posted"}, {"USD": (Decimal("20.20"), Decimal("0"))}),
        ({"currency": "eur"}, {"EUR": (Decimal("7.00"), Decimal("0"))}),
        ({"account": "acme"}, {"USD": (Decimal("30.30"), Decimal("5.05"))}),
        ({"date_to": "2026-01-31"}, {}),
    ],
)
def test_the_totals_follow_the_filters(logged_in, mixed, params, expected):
    response = logged_in.get(LIST, params)
    shown = {
        row.currency: (row.invoice_amount, row.credit_memo_amount)
        for row in response.context["totals"]
    }
    assert shown == expected


def test_the_bill_run_filter_totals_that_runs_documents(logged_in, mixed):
    response = logged_in.get(LIST, {"bill_run": mixed["run"].number})
    assert response.context["totals"] == [
        CurrencyTotals("USD", Decimal("10.10"), Decimal("5.05"), invoices=1, credit_memos=1)
    ]
    assert "Totals of the 2 documents matching the filters" in totals_section(response)


def test_no_documents_show_no_totals(logged_in):
    response = logged_in.get(LIST)
    assert 'id="document-totals"' not in response.content.decode()
