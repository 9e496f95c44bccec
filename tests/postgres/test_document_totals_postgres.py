"""The Documents list's totals on PostgreSQL, where an SQL SUM of numerics is exact: the same
answers as the integer sums SQLite needs (tests/invoicing/test_document_totals.py)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoicing.selectors import CurrencyTotals
from tests.invoicing.test_document_totals import CREDIT_MEMO, documents, totals

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_numerics_are_summed_as_they_are():
    documents(1000, "0.10")
    documents(20, "999999999999.99", currency="EUR")
    documents(2, "1.001", currency="BHD", kind=CREDIT_MEMO)
    with CaptureQueriesContext(connection) as queries:
        found = totals()
    assert found == [
        CurrencyTotals("BHD", Decimal("0"), Decimal("2.002"), invoices=0, credit_memos=2),
        CurrencyTotals(
            "EUR", Decimal("19999999999999.80"), Decimal("0"), invoices=20, credit_memos=0
        ),
        CurrencyTotals("USD", Decimal("100.00"), Decimal("0"), invoices=1000, credit_memos=0),
    ]
    [query] = queries.captured_queries
    assert 'SUM("invoicing_billingdocument"."amount")' in query["sql"]
