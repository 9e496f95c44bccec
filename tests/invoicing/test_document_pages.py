"""The Documents list and detail pages, and posting one document from its page."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from billruns.models import BillRun
from invoicing.models import BillingDocument, DocumentLine
from tests.factories import (
    AccountFactory,
    BillingDocumentFactory,
    BillRunFactory,
    DocumentLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LIST = reverse("invoicing:list")
# session, user, the user's and the group's permissions, the count, the page, the totals.
LIST_QUERIES = 7
# session, user, permissions (2), the document with its account and run, the line count and page.
DETAIL_QUERIES = 7


def invoice(number, amount="100.00", **fields):
    return BillingDocumentFactory(number=number, amount=Decimal(amount), **fields)


def posted(number, amount="100.00", **fields):
    return invoice(
        number, amount, status=BillingDocument.Status.POSTED, posted_at=timezone.now(), **fields
    )


def add_lines(line, numbers):
    """Lines "Line n" on `line`'s document, of its charge, each for the day 2020-01-01 + n days."""
    DocumentLine.objects.bulk_create(
        DocumentLine(
            document=line.document,
            charge=line.charge,
            subscription=line.subscription,
            charge_type=line.charge_type,
            description=f"Line {n}",
            service_start=dt.date(2020, 1, 1) + dt.timedelta(days=n),
            service_end=dt.date(2020, 1, 1) + dt.timedelta(days=n),
            amount=Decimal("1.00"),
        )
        for n in numbers
    )


def status_of(document_or_run) -> str:
    """Its status as the database has it now."""
    document_or_run.refresh_from_db()
    return document_or_run.status


def listed(response) -> list[str]:
    """The document numbers in the list's table, in order."""
    return re.findall(r'data-document="([^"]+)"', response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# -- list ------------------------------------------------------------------------------------


def test_the_list_shows_each_amount_in_its_own_currency(logged_in):
    run = BillRunFactory()
    usd = invoice("INV00000001", "1234.50", bill_run=run, account__name="Dollar Inc")
    invoice("INV00000002", "1235", account__currency="JPY")
    invoice("INV00000003", "1.001", account__currency="BHD")
    response = logged_in.get(LIST)
    content = response.content.decode()
    assert response.status_code == 200
    assert "$1,234.50" in content
    assert "¥1,235" in content and "¥1,235.00" not in content
    assert "BHD1.001" in content
    assert usd.get_absolute_url() in content
    assert usd.account.get_absolute_url() in content
    assert usd.account.number in content and "Dollar Inc" in content
    assert run.get_absolute_url() in content and run.number in content
    assert 'data-status="Draft"' in content


def test_the_list_needs_the_view_permission(client):
    client.force_login(UserFactory())
    assert client.get(LIST).status_code == 403


@pytest.fixture
def mixed_documents():
    run = BillRunFactory()
    acme = AccountFactory(name="Acme Widgets", currency="USD")
    globex = AccountFactory(name="Globex", currency="EUR")
    invoice("INV00000001", "10.00", account=acme, bill_run=run)
    posted("INV00000002", "20.00", account=globex, document_date=dt.date(2026, 3, 1))
    BillingDocumentFactory(
        number="CM00000001",
        kind=BillingDocument.Kind.CREDIT_MEMO,
        amount=Decimal("5.00"),
        account=acme,
        document_date=dt.date(2026, 1, 1),
    )
    return {"run": run, "acme": acme, "globex": globex}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "CreditMemo"}, {"CM00000001"}),
        ({"kind": "Invoice"}, {"INV00000001", "INV00000002"}),
        ({"status": "Posted"}, {"INV00000002"}),
        ({"currency": "eur"}, {"INV00000002"}),
        ({"date_from": "2026-02-01"}, {"INV00000001", "INV00000002"}),
        ({"date_to": "2026-02-01"}, {"INV00000001", "CM00000001"}),
        ({"date_from": "2026-02-01", "date_to": "2026-02-28"}, {"INV00000001"}),
        ({"account": "acme"}, {"INV00000001", "CM00000001"}),
        ({"account": "Globex"}, {"INV00000002"}),
    ],
)
def test_each_filter_narrows_the_list(logged_in, mixed_documents, params, expected):
    assert set(listed(logged_in.get(LIST, params))) == expected


def test_the_bill_run_filter_takes_a_run_number(logged_in, mixed_documents):
    number = mixed_documents["run"].number
    assert listed(logged_in.get(LIST, {"bill_run": number.lower()})) == ["INV00000001"]


def test_the_account_filter_takes_an_account_number(logged_in, mixed_documents):
    number = mixed_documents["globex"].number
    assert listed(logged_in.get(LIST, {"account": number})) == ["INV00000002"]


def test_the_newest_document_comes_first_and_each_column_sorts_both_ways(
    logged_in, mixed_documents
):
    assert listed(logged_in.get(LIST)) == ["INV00000002", "INV00000001", "CM00000001"]
    by_amount = listed(logged_in.get(LIST, {"o": "amount"}))
    assert by_amount == ["INV00000002", "CM00000001", "INV00000001"]  # EUR, then USD
    assert listed(logged_in.get(LIST, {"o": "-amount"})) == by_amount[::-1]
    by_number = listed(logged_in.get(LIST, {"o": "number"}))
    assert by_number == ["CM00000001", "INV00000001", "INV00000002"]


def test_a_column_header_sorts_and_filtering_keeps_the_sort(logged_in, mixed_documents):
    content = logged_in.get(LIST, {"o": "amount", "status": "Draft"}).content.decode()
    # The header now offers the other direction, and the filter form carries the sort along.
    assert "o=-amount" in content
    assert re.search(r'<input type="hidden" name="o" value="amount"', content)


def test_the_list_without_documents_says_to_run_a_bill_run(logged_in):
    content = logged_in.get(LIST).content.decode()
    assert "No documents yet." in content
    assert reverse("billruns:list") in content
    assert "No document matches these filters." not in content


def test_filters_that_match_nothing_say_so(logged_in, mixed_documents):
    content = logged_in.get(LIST, {"account": "Initech"}).content.decode()
    assert "No document matches these filters." in content
    assert "No documents yet." not in content


def test_a_bad_filter_value_is_shown_as_an_error_not_a_crash(logged_in, mixed_documents):
    response = logged_in.get(LIST, {"status": "Paid"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_the_list_costs_the_same_queries_at_any_size(logged_in, django_assert_max_num_queries):
    run = BillRunFactory()
    for n in range(3):
        invoice(f"INV0000000{n}", bill_run=run)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(listed(logged_in.get(LIST))) == 3
    accounts = AccountFactory.create_batch(5)
    BillingDocument.objects.bulk_create(
        BillingDocument(
            number=f"INV1{n:07d}",
            kind=BillingDocument.Kind.INVOICE,
            account=accounts[n % 5],
            bill_run=run,
            currency="USD",
            document_date=dt.date(2026, 2, 1),
            due_date=dt.date(2026, 3, 3),
            amount=Decimal("12.00"),
        )
        for n in range(120)
    )
    with django_assert_max_num_queries(LIST_QUERIES):
        response = logged_in.get(LIST, {"o": "-amount", "account": "Customer"})
    assert len(listed(response)) == 50
    assert "1–50 of 123" in response.content.decode()


# -- detail ----------------------------------------------------------------------------------


def test_the_detail_shows_the_account_dates_run_and_lines(logged_in):
    run = BillRunFactory()
    document = invoice(
        "INV00000001",
        "1234.50",
        bill_run=run,
        account__name="Acme Widgets",
        account__bill_to_name="Acme Accounts Payable",
        account__bill_to_email="ap@acme.example",
        target_date=dt.date(2026, 1, 31),
    )
    DocumentLineFactory(
        document=document,
        description="Seats (prorated 14/28 days)",
        quantity=Decimal("3"),
        unit_price=Decimal("0.002500"),
        amount=Decimal("1234.50"),
    )
    content = logged_in.get(document.get_absolute_url()).content.decode()
    for text in [
        "INV00000001",
        "Acme Accounts Payable",
        "ap@acme.example",
        document.account.get_absolute_url(),
        run.get_absolute_url(),
        "2026-02-01",  # document date
        "2026-03-03",  # due date
        "2026-01-31",  # target date
        "Seats (prorated 14/28 days)",
        "2026-02-01 – 2026-02-28",
        "$0.0025",  # a unit price keeps its digits
        "$1,234.50",
        reverse("invoicing:pdf", args=[document.pk]),
    ]:
        assert text in content, text


def test_a_credit_memo_explains_that_its_amount_is_the_credit_given(logged_in):
    memo = BillingDocumentFactory(
        number="CM00000001", kind=BillingDocument.Kind.CREDIT_MEMO, amount=Decimal("40.00")
    )
    content = logged_in.get(memo.get_absolute_url()).content.decode()
    assert "Credit memo CM00000001" in content
    assert "amount is the credit given to the account" in content
    assert "Total credit" in content


def test_the_lines_are_paginated_a_hundred_at_a_time(logged_in):
    line = DocumentLineFactory(document__number="INV00000001", description="Line 0")
    document = line.document
    add_lines(line, range(1, 101))
    first = logged_in.get(document.get_absolute_url()).content.decode()
    assert "Line 99<" in first and "Line 100<" not in first
    assert "1–100 of 101" in first
    second = logged_in.get(document.get_absolute_url(), {"page": 2}).content.decode()
    assert "Line 100<" in second and "Line 99<" not in second


def test_the_detail_costs_the_same_queries_at_any_size(logged_in, django_assert_max_num_queries):
    line = DocumentLineFactory(document__number="INV00000001", document__bill_run=BillRunFactory())
    document = line.document
    with django_assert_max_num_queries(DETAIL_QUERIES):
        logged_in.get(document.get_absolute_url())
    add_lines(line, range(250))
    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = logged_in.get(document.get_absolute_url(), {"page": 2})
    assert "101–200 of 251" in response.content.decode()


def test_an_operator_sees_post_on_a_draft_and_set_back_on_a_posted_document(logged_in):
    draft = invoice("INV00000001")
    content = logged_in.get(draft.get_absolute_url()).content.decode()
    assert reverse("invoicing:post", args=[draft.pk]) in content
    assert 'data-bs-target="#post-modal"' in content
    assert reverse("invoicing:unpost", args=[draft.pk]) not in content

    done = posted("INV00000002")
    content = logged_in.get(done.get_absolute_url()).content.decode()
    assert reverse("invoicing:unpost", args=[done.pk]) in content
    assert reverse("invoicing:post", args=[done.pk]) not in content


def test_a_canceled_document_offers_neither_post_nor_set_back(logged_in):
    canceled = invoice("INV00000001", status=BillingDocument.Status.CANCELED)
    content = logged_in.get(canceled.get_absolute_url()).content.decode()
    assert "/post/" not in content and "/unpost/" not in content


def test_a_billing_viewer_sees_no_post_buttons(client, viewer):
    draft = invoice("INV00000001")
    done = posted("INV00000002")
    client.force_login(viewer)
    for document in (draft, done):
        response = client.get(document.get_absolute_url())
        assert response.status_code == 200
        content = response.content.decode()
        assert "/post/" not in content and "/unpost/" not in content
        assert "Download PDF" in content


# -- post / unpost ---------------------------------------------------------------------------


def test_posting_a_draft_makes_it_posted_by_the_operator(logged_in, operator):
    draft = invoice("INV00000001")
    response = logged_in.post(reverse("invoicing:post", args=[draft.pk]))
    assert response.status_code == 302
    assert response["Location"] == draft.get_absolute_url()
    assert messages_of(response) == ["INV00000001 posted."]
    draft.refresh_from_db()
    assert draft.status == BillingDocument.Status.POSTED
    assert draft.posted_by == operator


def test_setting_a_posted_document_back_to_draft_reopens_its_run(logged_in):
    run = BillRunFactory(status=BillRun.Status.POSTED)
    done = posted("INV00000001", bill_run=run)
    response = logged_in.post(reverse("invoicing:unpost", args=[done.pk]), follow=True)
    assert "INV00000001 set back to Draft." in response.content.decode()
    assert status_of(done) == BillingDocument.Status.DRAFT
    assert status_of(run) == BillRun.Status.COMPLETED


def test_posting_a_posted_document_shows_why_it_was_refused(logged_in):
    done = posted("INV00000001")
    response = logged_in.post(reverse("invoicing:post", args=[done.pk]))
    assert response["Location"] == done.get_absolute_url()
    assert messages_of(response) == ["INV00000001 is Posted: only Draft documents can be posted."]


def test_setting_a_draft_back_to_draft_shows_why_it_was_refused(logged_in):
    draft = invoice("INV00000001")
    response = logged_in.post(reverse("invoicing:unpost", args=[draft.pk]))
    assert messages_of(response) == [
        "INV00000001 is Draft: only Posted documents can be set back to Draft."
    ]


def test_a_billing_viewer_may_not_post_or_set_back(client, viewer):
    draft = invoice("INV00000001")
    done = posted("INV00000002")
    client.force_login(viewer)
    assert client.post(reverse("invoicing:post", args=[draft.pk])).status_code == 403
    assert client.post(reverse("invoicing:unpost", args=[done.pk])).status_code == 403
    assert status_of(draft) == BillingDocument.Status.DRAFT
    assert status_of(done) == BillingDocument.Status.POSTED


def test_posting_needs_a_post_request(logged_in):
    draft = invoice("INV00000001")
    assert logged_in.get(reverse("invoicing:post", args=[draft.pk])).status_code == 405
    assert status_of(draft) == BillingDocument.Status.DRAFT


def test_sorting_by_amount_never_mixes_currencies(logged_in):
    """¥5,000 is not more than $20.00: amounts sort within their currency."""
    for number, amount, currency in (
        ("INV00000001", "5000", "JPY"),
        ("INV00000002", "20.00", "USD"),
        ("INV00000003", "300", "JPY"),
        ("INV00000004", "7.00", "USD"),
        ("INV00000005", "9.00", "EUR"),
    ):
        invoice(number, amount, account=AccountFactory(currency=currency))
    assert listed(logged_in.get(LIST, {"o": "amount"})) == [
        "INV00000005",  # EUR 9.00
        "INV00000003",  # JPY 300
        "INV00000001",  # JPY 5,000
        "INV00000004",  # USD 7.00
        "INV00000002",  # USD 20.00
    ]
    usd = listed(logged_in.get(LIST, {"o": "-amount", "currency": "usd"}))
    assert usd == ["INV00000002", "INV00000004"]


def test_each_line_names_its_charge_and_subscription(logged_in):
    line = DocumentLineFactory(document__number="INV00000001")
    html = logged_in.get(reverse("invoicing:detail", args=[line.document_id])).content.decode()
    charge = re.search(r'data-testid="line-charge">([^<]*)<', html).group(1)
    subscription = re.search(r'data-testid="line-subscription">([^<]*)<', html).group(1)
    assert (charge, subscription) == (line.charge.number, line.subscription.number)
    assert charge.startswith("C") and subscription.startswith("S")
