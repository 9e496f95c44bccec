"""The accounts list, one account's page, and the account autocomplete of the bill run form."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Account, Charge, UsageRecord
from billruns.models import BillRunFailure
from invoicing.models import BillingDocument
from tests.factories import (
    AccountFactory,
    BillingDocumentFactory,
    BillRunFactory,
    ChargeFactory,
    DocumentLineFactory,
    SubscriptionFactory,
    UsageRecordFactory,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("accounts:list")
AUTOCOMPLETE_URL = reverse("accounts:autocomplete")
# Session, user, permissions (user and group), the page's own queries, and a little slack; the
# same bound holds for a few rows and for many, so an N+1 fails here.
LIST_QUERIES = 7
DETAIL_QUERIES = 15


def listed_numbers(response) -> list[str]:
    return re.findall(r'<td><a href="/accounts/\d+/">([^<]+)</a></td>', response.content.decode())


def option_values(response) -> list[str]:
    return re.findall(r'<option value="([^"]+)">', response.content.decode())


@pytest.fixture
def three_accounts():
    """Accounts that every column sorts and every filter tells apart."""
    fields = ("number", "name", "batch", "bill_cycle_day", "currency", "status")
    rows = [
        ("A00000101", "Acme Corp", "Batch1", 1, "USD", Account.Status.ACTIVE),
        ("A00000102", "Globex", "Batch2", 15, "EUR", Account.Status.DRAFT),
        ("A00000201", "Initech", "Batch10", 31, "JPY", Account.Status.CANCELED),
    ]
    return [AccountFactory(**dict(zip(fields, row, strict=True))) for row in rows]


# --- The list ----------------------------------------------------------------------------------
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, three_accounts):
    for url in (LIST_URL, three_accounts[0].get_absolute_url(), AUTOCOMPLETE_URL + "?q=A"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_list_shows_accounts_in_number_order_with_their_columns(logged_in, three_accounts):
    response = logged_in.get(LIST_URL)
    assert response.status_code == 200
    assert listed_numbers(response) == ["A00000101", "A00000102", "A00000201"]
    content = response.content.decode()
    assert "Acme Corp" in content
    assert 'data-status="Draft"' in content
    assert "Batch10" in content
    assert three_accounts[0].bill_to_email in content
    assert f'href="{three_accounts[1].get_absolute_url()}"' in content


def test_a_viewer_sees_the_list_too(client, viewer, three_accounts):
    client.force_login(viewer)
    assert listed_numbers(client.get(LIST_URL)) == ["A00000101", "A00000102", "A00000201"]


def test_a_user_without_the_view_permission_is_refused(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get(LIST_URL).status_code == 403
    assert client.get(AUTOCOMPLETE_URL + "?q=A").status_code == 403


@pytest.mark.parametrize(
    "query, expected",
    [
        ("A00000101", ["A00000101"]),  # the exact number
        ("a000001", ["A00000101", "A00000102"]),  # its start, in any case
        ("globe", ["A00000102"]),  # part of the name
        ("CORP", ["A00000101"]),
        ("nothing like it", []),
    ],
)
def test_search_matches_a_number_prefix_or_part_of_the_name(
    logged_in, three_accounts, query, expected
):
    assert listed_numbers(logged_in.get(LIST_URL, {"q": query})) == expected


def test_search_does_not_match_the_middle_of_a_number(logged_in, three_accounts):
    assert listed_numbers(logged_in.get(LIST_URL, {"q": "0102"})) == []


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"batch": "Batch2"}, ["A00000102"]),
        ({"bill_cycle_day": "31"}, ["A00000201"]),
        ({"currency": "eur"}, ["A00000102"]),
        ({"status": "Active"}, ["A00000101"]),
        ({"status": "Canceled", "currency": "JPY"}, ["A00000201"]),
        ({"status": "Active", "batch": "Batch2"}, []),
    ],
)
def test_each_filter_narrows_the_list(logged_in, three_accounts, params, expected):
    assert listed_numbers(logged_in.get(LIST_URL, params)) == expected


def test_sorting_by_name_both_ways(logged_in):
    for number, name in [("A1", "Zeta"), ("A2", "Alpha"), ("A3", "Mu")]:
        AccountFactory(number=number, name=name)
    assert listed_numbers(logged_in.get(LIST_URL, {"o": "name"})) == ["A2", "A3", "A1"]
    assert listed_numbers(logged_in.get(LIST_URL, {"o": "-name"})) == ["A1", "A3", "A2"]


def test_batches_sort_as_people_count_them(logged_in, three_accounts):
    assert listed_numbers(logged_in.get(LIST_URL, {"o": "batch"})) == [
        "A00000101",  # Batch1
        "A00000102",  # Batch2
        "A00000201",  # Batch10
    ]


def test_the_sort_headers_toggle_and_keep_the_filters(logged_in, three_accounts):
    content = logged_in.get(LIST_URL, {"status": "Active", "o": "name"}).content.decode()
    assert 'href="?status=Active&amp;o=-name" aria-sort="ascending"' in content
    assert 'href="?status=Active&amp;o=number" aria-sort="none"' in content


def test_a_bad_filter_value_is_explained_and_ignored(logged_in, three_accounts):
    response = logged_in.get(LIST_URL, {"bill_cycle_day": "32"})
    assert listed_numbers(response) == ["A00000101", "A00000102", "A00000201"]
    assert "Select a valid choice" in response.content.decode()


def test_the_list_is_paginated(logged_in):
    AccountFactory.create_batch(51)
    first = logged_in.get(LIST_URL)
    assert len(listed_numbers(first)) == 50
    assert "1–50 of 51" in first.content.decode()
    assert len(listed_numbers(logged_in.get(LIST_URL, {"page": 2}))) == 1


def test_with_no_accounts_the_list_says_how_to_get_some(logged_in):
    content = logged_in.get(LIST_URL).content.decode()
    assert "No accounts yet." in content
    assert "manage.py seed_demo" in content
    assert reverse("admin:accounts_account_changelist") in content


def test_filters_that_match_nothing_ask_to_loosen_them(logged_in, three_accounts):
    content = logged_in.get(LIST_URL, {"q": "Umbrella"}).content.decode()
    assert "No account matches these filters." in content
    assert "Loosen the filters" in content
    assert "No accounts yet." not in content


def test_the_list_costs_the_same_queries_for_3_or_60_accounts(
    logged_in, django_assert_max_num_queries
):
    AccountFactory.create_batch(3)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(listed_numbers(logged_in.get(LIST_URL, {"o": "currency"}))) == 3
    AccountFactory.create_batch(57)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(listed_numbers(logged_in.get(LIST_URL, {"o": "currency"}))) == 50


# --- One account -------------------------------------------------------------------------------
@pytest.fixture
def billed_account():
    """An account with a billed recurring charge, a usage charge, a document and a failure."""
    account = AccountFactory(
        number="A00000500",
        name="Umbrella Ltd",
        currency="EUR",
        batch="Batch7",
        bill_cycle_day=15,
        payment_term_days=14,
        bill_to_name="Umbrella Accounts Payable",
        bill_to_email="ap@umbrella.example",
    )
    subscription = SubscriptionFactory(account=account, number="S00000500")
    ChargeFactory(
        subscription=subscription,
        number="C00000500",
        name="Platform fee",
        price=Decimal("1234.5"),
        charged_through=dt.date(2026, 2, 14),
    )
    usage_charge = ChargeFactory(
        subscription=subscription,
        number="C00000501",
        name="Storage",
        charge_type=Charge.ChargeType.USAGE,
        charge_model=Charge.ChargeModel.PER_UNIT,
        billing_timing=Charge.BillingTiming.IN_ARREARS,
        price=Decimal("0.0025"),
        uom="GB",
    )
    UsageRecordFactory(
        charge=usage_charge,
        quantity=Decimal("42"),
        usage_date=dt.date(2026, 2, 3),
        source="usage-feb.csv:7",
    )
    run = BillRunFactory(number="BR-00000077")
    document = BillingDocumentFactory(
        account=account, bill_run=run, number="INV00000900", amount=Decimal("1234.5")
    )
    billed_line = DocumentLineFactory(document=document, charge=usage_charge)
    UsageRecordFactory(
        charge=usage_charge,
        quantity=Decimal("99"),
        usage_date=dt.date(2026, 1, 20),
        source="usage-jan.csv:3",
        status=UsageRecord.Status.BILLED,
        line=billed_line,
    )
    BillRunFailure.objects.create(
        bill_run=run,
        account=account,
        error_code="TOO_MANY_LINES",
        message="More than 20,000 lines on one document.",
    )
    return account


def test_the_account_page_shows_the_account_fields(logged_in, billed_account):
    response = logged_in.get(billed_account.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    for text in (
        "A00000500",
        "Umbrella Ltd",
        'data-status="Active"',
        "EUR",
        "Batch7",
        "14 days after the invoice date",
        "Umbrella Accounts Payable",
        "ap@umbrella.example",
    ):
        assert text in content


def test_the_account_page_shows_charges_with_their_prices_and_charged_through(
    logged_in, billed_account
):
    content = logged_in.get(billed_account.get_absolute_url()).content.decode()
    assert "S00000500" in content
    assert "1 subscription · 2 charges" in content
    assert "C00000500" in content and "Platform fee" in content
    assert "€1,234.50" in content
    assert "€0.0025" in content  # a unit price keeps its digits
    assert '<td data-testid="charged-through">2026-02-14</td>' in content
    assert '<td data-testid="charged-through">never billed</td>' in content


def test_the_account_page_shows_pending_usage_only(logged_in, billed_account):
    content = logged_in.get(billed_account.get_absolute_url()).content.decode()
    assert "usage-feb.csv:7" in content
    assert "usage-jan.csv:3" not in content  # billed already


def test_pending_usage_is_newest_first_and_paginated(logged_in):
    account = AccountFactory()
    charge = ChargeFactory(
        subscription=SubscriptionFactory(account=account),
        charge_type=Charge.ChargeType.USAGE,
        charge_model=Charge.ChargeModel.PER_UNIT,
        billing_timing=Charge.BillingTiming.IN_ARREARS,
    )
    for day in range(1, 29):
        for part in ("a", "b"):
            UsageRecordFactory(
                charge=charge, usage_date=dt.date(2026, 2, day), source=f"feb-{day:02d}-{part}"
            )
    first = logged_in.get(account.get_absolute_url()).content.decode()
    sources = re.findall(r"feb-\d\d-[ab]", first)
    assert sources[0] == "feb-28-b" and len(sources) == 50
    assert "usage_page=2#pending-usage" in first
    second = logged_in.get(account.get_absolute_url(), {"usage_page": 2}).content.decode()
    assert re.findall(r"feb-\d\d-[ab]", second) == [
        "feb-03-b",
        "feb-03-a",
        "feb-02-b",
        "feb-02-a",
        "feb-01-b",
        "feb-01-a",
    ]


def test_the_account_page_shows_documents_with_formatted_money(logged_in, billed_account):
    content = logged_in.get(billed_account.get_absolute_url()).content.decode()
    document = BillingDocument.objects.get(number="INV00000900")
    assert f'<a href="{document.get_absolute_url()}">INV00000900</a>' in content
    assert "€1,234.50" in content
    assert f"{reverse('invoicing:list')}?account=A00000500" in content


def test_the_account_page_shows_bill_run_failures(logged_in, billed_account):
    content = logged_in.get(billed_account.get_absolute_url()).content.decode()
    run_url = BillRunFailure.objects.get().bill_run.get_absolute_url()
    assert f'<a href="{run_url}">BR-00000077</a>' in content
    assert "TOO_MANY_LINES" in content
    assert "More than 20,000 lines on one document." in content


def test_an_unknown_account_is_not_found(logged_in):
    assert logged_in.get(reverse("accounts:detail", args=[999999])).status_code == 404


def test_an_operator_may_bill_an_active_account(logged_in, billed_account):
    content = logged_in.get(billed_account.get_absolute_url()).content.decode()
    assert "Bill this account" in content
    assert f"{reverse('billruns:create')}?account=A00000500" in content


def test_a_viewer_may_not_bill_the_account(client, viewer, billed_account):
    client.force_login(viewer)
    response = client.get(billed_account.get_absolute_url())
    assert response.status_code == 200
    assert "Bill this account" not in response.content.decode()


def test_an_inactive_account_cannot_be_billed(logged_in):
    account = AccountFactory(status=Account.Status.DRAFT)
    assert "Bill this account" not in logged_in.get(account.get_absolute_url()).content.decode()


def _grow(account: Account, *, subscriptions: int, charges_each: int, documents: int) -> None:
    run = BillRunFactory()
    for _ in range(subscriptions):
        subscription = SubscriptionFactory(account=account)
        for _ in range(charges_each):
            charge = ChargeFactory(
                subscription=subscription,
                charge_type=Charge.ChargeType.USAGE,
                charge_model=Charge.ChargeModel.PER_UNIT,
                billing_timing=Charge.BillingTiming.IN_ARREARS,
            )
            UsageRecordFactory(charge=charge)
    for _ in range(documents):
        BillingDocumentFactory(account=account, bill_run=run)
        BillRunFailure.objects.create(bill_run=run, account=account, error_code="E", message="m")


def test_the_account_page_costs_the_same_queries_for_small_and_big_accounts(
    logged_in, django_assert_max_num_queries
):
    account = AccountFactory()
    _grow(account, subscriptions=1, charges_each=3, documents=3)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        assert logged_in.get(account.get_absolute_url()).status_code == 200
    _grow(account, subscriptions=6, charges_each=10, documents=30)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        content = logged_in.get(account.get_absolute_url()).content.decode()
    assert "7 subscriptions · 63 charges" in content
    assert 'data-testid="more-documents"' in content
    assert 'data-testid="more-failures"' in content


def test_a_subscription_with_very_many_charges_shows_the_first_ones_and_says_so(logged_in):
    subscription = SubscriptionFactory(number="S00000900")
    ChargeFactory.create_batch(25, subscription=subscription)
    content = logged_in.get(subscription.account.get_absolute_url()).content.decode()
    assert content.count('data-testid="charged-through"') == 20
    assert "The first 20 of 25 charges." in content
    assert "?q=S00000900" in content


def test_subscriptions_are_paginated(logged_in):
    account = AccountFactory()
    for n in range(1, 52):
        SubscriptionFactory(account=account, number=f"S{n:08d}")
    first = logged_in.get(account.get_absolute_url()).content.decode()
    assert "S00000050" in first and "S00000051" not in first
    assert "subscriptions_page=2#subscriptions" in first
    second = logged_in.get(account.get_absolute_url(), {"subscriptions_page": 2})
    assert "S00000051" in second.content.decode()


# --- Autocomplete ------------------------------------------------------------------------------
def test_autocomplete_offers_active_accounts_by_number_prefix_or_name(
    logged_in, three_accounts, django_assert_max_num_queries
):
    AccountFactory(number="A00000103", name="Hooli", currency="GBP")
    with django_assert_max_num_queries(5):  # session, user, permissions, the options
        response = logged_in.get(AUTOCOMPLETE_URL, {"q": "a0000010"})
    assert response.status_code == 200
    # A00000102 is Draft: only Active accounts are billed, so only they are offered.
    assert option_values(response) == ["A00000101", "A00000103"]
    assert '<option value="A00000103">A00000103 · Hooli (GBP)</option>' in response.content.decode()
    assert option_values(logged_in.get(AUTOCOMPLETE_URL, {"q": "acme"})) == ["A00000101"]
    assert option_values(logged_in.get(AUTOCOMPLETE_URL, {"q": "Initech"})) == []  # Canceled


def test_autocomplete_offers_at_most_20_accounts_in_number_order(logged_in):
    for n in range(25, 0, -1):
        AccountFactory(number=f"A{n:08d}", name=f"Shop {n}")
    assert option_values(logged_in.get(AUTOCOMPLETE_URL, {"q": "shop"})) == [
        f"A{n:08d}" for n in range(1, 21)
    ]


def test_autocomplete_offers_nothing_for_an_empty_query(logged_in, three_accounts):
    for params in ({}, {"q": ""}, {"q": "   "}):
        response = logged_in.get(AUTOCOMPLETE_URL, params)
        assert response.status_code == 200
        assert option_values(response) == []


def test_only_a_user_who_may_change_the_account_is_offered_to_edit_it_in_the_admin(
    client, operator, viewer
):
    account = AccountFactory()
    edit = reverse("admin:accounts_account_change", args=[account.pk])
    client.force_login(viewer)  # staff, read-only
    assert edit not in client.get(account.get_absolute_url()).content.decode()
    client.force_login(operator)
    assert edit in client.get(account.get_absolute_url()).content.decode()
