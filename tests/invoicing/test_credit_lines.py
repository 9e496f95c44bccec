"""Credit lines (DESIGN §5 credit back) on the document page and in the PDF: each reads as a
credit of the line it credits, naming that line's document, without a query per line."""

import datetime as dt
from decimal import Decimal

import pytest

from invoicing.models import BillingDocument
from invoicing.pdf import render_document_html
from invoicing.selectors import document_detail
from tests.factories import BillingDocumentFactory, DocumentLineFactory
from tests.invoicing.test_document_pages import DETAIL_QUERIES

pytestmark = pytest.mark.django_db

CREDIT = "Credit: Plan, 2026-04-16 – 2026-04-30, 15/30 days"


def billed_line(number: str, account=None):
    """April's 100.00 of a monthly plan, on invoice `number`."""
    extra = {"document__account": account} if account else {}
    return DocumentLineFactory(
        document__number=number,
        description="Plan",
        service_start=dt.date(2026, 4, 1),
        service_end=dt.date(2026, 4, 30),
        **extra,
    )


def credit_of(line, document, *, start=dt.date(2026, 4, 16), description=CREDIT):
    return DocumentLineFactory(
        document=document,
        charge=line.charge,
        credits=line,
        description=description,
        service_start=start,
        service_end=dt.date(2026, 4, 30),
        unit_price=Decimal("100.00"),
        amount=Decimal("-50.00"),
    )


@pytest.fixture
def memo_crediting_an_invoice():
    line = billed_line("INV00000001")
    memo = BillingDocumentFactory(
        number="CM00000001",
        kind=BillingDocument.Kind.CREDIT_MEMO,
        account=line.document.account,
        amount=Decimal("50.00"),
        document_date=dt.date(2026, 5, 1),
        due_date=dt.date(2026, 5, 31),
    )
    credit_of(line, memo)
    return memo, line


def test_the_document_page_shows_a_credit_line_with_the_document_it_credits(
    logged_in, memo_crediting_an_invoice
):
    memo, line = memo_crediting_an_invoice
    content = logged_in.get(memo.get_absolute_url()).content.decode()
    assert CREDIT in content
    assert f'credits <a href="{line.document.get_absolute_url()}">INV00000001</a>' in content
    assert "-$50.00" in content


def test_a_charge_line_credits_nothing(logged_in, memo_crediting_an_invoice):
    _, line = memo_crediting_an_invoice
    content = logged_in.get(line.document.get_absolute_url()).content.decode()
    assert 'data-testid="credits"' not in content


def test_the_document_page_reads_credit_lines_without_a_query_each(
    logged_in, django_assert_max_num_queries
):
    memo = BillingDocumentFactory(number="CM00000002", kind=BillingDocument.Kind.CREDIT_MEMO)
    account = memo.account
    credit_of(billed_line("INV00000010", account), memo)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        assert logged_in.get(memo.get_absolute_url()).status_code == 200
    for n in range(11, 41):  # thirty more, each crediting a line of another invoice
        credit_of(billed_line(f"INV000000{n}", account), memo)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        content = logged_in.get(memo.get_absolute_url()).content.decode()
    assert content.count('data-testid="credits"') == 31
    assert ">INV00000040</a>" in content


def test_the_pdf_shows_what_each_credit_line_credits(
    memo_crediting_an_invoice, django_assert_num_queries
):
    memo, _ = memo_crediting_an_invoice
    document = document_detail().get(pk=memo.pk)
    with django_assert_num_queries(1):  # the lines, with the credited lines' documents
        html = render_document_html(document)
    assert CREDIT in html
    assert '<div class="credits">credits INV00000001</div>' in html
