"""The amendment pages of an account (DESIGN §9): cancel a subscription, change, remove or add a
charge. Each parses its fields, calls one lifecycle service, shows the service's refusal above
the form, and can say what the next bill run will credit back."""

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import Amendment, Charge, Subscription
from accounts.selectors import describe_amendment
from tests.accounts.test_account_pages import DETAIL_QUERIES
from tests.factories import AccountFactory, ChargeFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

APR16 = "2026-04-16"


def cancel_url(subscription):
    return reverse("accounts:cancel_subscription", args=[subscription.account_id, subscription.pk])


def add_url(subscription):
    return reverse("accounts:add_charge", args=[subscription.account_id, subscription.pk])


def change_url(charge):
    return reverse("accounts:change_charge", args=[charge.account_id, charge.pk])


def remove_url(charge):
    return reverse("accounts:remove_charge", args=[charge.account_id, charge.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def form_errors(response) -> dict:
    return {field: list(errors) for field, errors in response.context["form"].errors.items()}


def amendments() -> list[tuple]:
    return list(
        Amendment.objects.order_by("id").values_list(
            "kind", "charge__number", "effective_date", "actor__username"
        )
    )


@pytest.fixture
def billed():
    """A monthly 30.00 in advance, billed through April 30."""
    return ChargeFactory(
        number="C00000901",
        name="Plan",
        price=Decimal("30.00"),
        charged_through=dt.date(2026, 4, 30),
        subscription__number="S00000901",
    )


def assert_back_on_the_account_page(response, account, message):
    assert response.status_code == 302
    assert response["Location"] == f"{account.get_absolute_url()}#subscriptions"
    assert messages_of(response) == [message]


# -- Cancel a subscription ----------------------------------------------------------------------


def test_the_cancel_form_shows_the_subscription_and_how_far_it_is_billed(logged_in, billed):
    response = logged_in.get(cancel_url(billed.subscription))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Cancel subscription S00000901" in content
    assert 'type="date" name="cancel_date"' in content
    assert "C00000901 Plan" in content and "2026-04-30" in content
    assert 'data-testid="next-run"' not in content  # nothing to say before a date is chosen


def test_canceling_from_a_date_ends_the_charges_and_records_who(logged_in, operator, billed):
    response = logged_in.post(cancel_url(billed.subscription), {"cancel_date": APR16})
    assert_back_on_the_account_page(response, billed.account, "S00000901 canceled from 2026-04-16.")
    billed.refresh_from_db()
    billed.subscription.refresh_from_db()
    assert billed.subscription.status == Subscription.Status.CANCELED
    assert billed.subscription.canceled_on == dt.date(2026, 4, 16)
    assert billed.effective_end == dt.date(2026, 4, 15)
    assert amendments() == [("Cancel", None, dt.date(2026, 4, 16), "operator")]


@pytest.mark.parametrize(
    ("value", "error"),
    [("", "This field is required."), ("2026-02-30", "Enter a valid date.")],
)
def test_a_missing_or_bad_cancel_date_is_shown_on_its_field(logged_in, billed, value, error):
    response = logged_in.post(cancel_url(billed.subscription), {"cancel_date": value})
    assert response.status_code == 200
    assert form_errors(response) == {"cancel_date": [error]}
    assert error in response.content.decode()
    assert amendments() == []


def test_a_refused_cancellation_shows_the_services_sentence_above_the_form(logged_in, billed):
    response = logged_in.post(cancel_url(billed.subscription), {"cancel_date": "2025-12-31"})
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="form-errors"' in content
    assert "2025-12-31 is before S00000901&#x27;s start on 2026-01-01." in content
    assert amendments() == []


def test_canceling_a_canceled_subscription_says_since_when(logged_in):
    subscription = SubscriptionFactory(
        number="S00000902", status="Canceled", canceled_on=dt.date(2026, 3, 1)
    )
    response = logged_in.post(cancel_url(subscription), {"cancel_date": APR16})
    assert "S00000902 is already canceled from 2026-03-01." in response.content.decode()


def test_the_cancel_preview_says_what_the_next_run_credits_and_writes_nothing(logged_in, billed):
    ChargeFactory(subscription=billed.subscription, number="C00000902", name="Never billed")
    response = logged_in.post(
        cancel_url(billed.subscription), {"cancel_date": APR16, "preview": "1"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "The next bill run credits 2026-04-16 – 2026-04-30." in content
    assert content.count("The next bill run credits") == 1
    assert 'value="2026-04-16"' in content  # the date stays, ready to confirm
    billed.subscription.refresh_from_db()
    assert billed.subscription.status == Subscription.Status.ACTIVE
    assert amendments() == []


def test_the_preview_of_a_date_after_the_billed_days_credits_nothing(logged_in, billed):
    response = logged_in.post(
        cancel_url(billed.subscription), {"cancel_date": "2026-05-01", "preview": "1"}
    )
    assert "the next bill run credits nothing" in response.content.decode()


def test_a_preview_with_a_bad_date_shows_the_field_error(logged_in, billed):
    response = logged_in.post(
        cancel_url(billed.subscription), {"cancel_date": "soon", "preview": "1"}
    )
    assert form_errors(response) == {"cancel_date": ["Enter a valid date."]}
    assert 'data-testid="next-run"' not in response.content.decode()


def test_a_subscription_of_another_account_is_not_found(logged_in, billed):
    other = AccountFactory()
    url = reverse("accounts:cancel_subscription", args=[other.pk, billed.subscription.pk])
    assert logged_in.get(url).status_code == 404
    assert logged_in.post(url, {"cancel_date": APR16}).status_code == 404


# -- Change a charge ----------------------------------------------------------------------------


def test_the_change_form_asks_the_terms_its_model_rates_with(logged_in, billed):
    flat = logged_in.get(change_url(billed)).context["form"]
    assert list(flat.fields) == ["effective_date", "price"]
    assert flat["price"].value() == "30"  # as typed, not 30.000000
    per_unit = ChargeFactory(charge_model="PerUnit", price=Decimal("2.5"), quantity=Decimal("4"))
    assert list(logged_in.get(change_url(per_unit)).context["form"].fields) == [
        "effective_date",
        "price",
        "quantity",
    ]
    tiered = ChargeFactory(
        charge_model="Tiered", tiers=[{"up_to": None, "unit_price": "1", "flat_price": "0"}]
    )
    response = logged_in.get(change_url(tiered))
    assert list(response.context["form"].fields) == ["effective_date", "quantity", "tiers"]
    assert "&quot;unit_price&quot;: &quot;1&quot;" in response.content.decode()


def test_changing_a_billed_price_starts_a_successor(logged_in, operator, billed):
    response = logged_in.post(change_url(billed), {"effective_date": APR16, "price": "35.00"})
    successor = Charge.objects.get(replaces=billed)
    assert_back_on_the_account_page(
        response,
        billed.account,
        f"C00000901 changed from 2026-04-16: {successor.number} carries the new terms.",
    )
    assert successor.price == Decimal("35.00")
    assert successor.effective_start == dt.date(2026, 4, 16)
    billed.refresh_from_db()
    assert billed.effective_end == dt.date(2026, 4, 15)
    assert billed.price == Decimal("30.00")
    assert amendments() == [("ChangeCharge", "C00000901", dt.date(2026, 4, 16), "operator")]
    assert Amendment.objects.get().details == {
        "price": ["30", "35"],
        "successor": successor.number,
    }


def test_changing_a_quantity_keeps_the_price(logged_in):
    charge = ChargeFactory(charge_model="PerUnit", price=Decimal("2.5"), quantity=Decimal("4"))
    logged_in.post(
        change_url(charge), {"effective_date": "2026-01-01", "price": "2.5", "quantity": "6"}
    )
    charge.refresh_from_db()  # never billed, changed from its first day: edited in place
    assert (charge.price, charge.quantity) == (Decimal("2.5"), Decimal("6"))


def test_changing_tiers_parses_them_without_floats(logged_in):
    charge = ChargeFactory(
        charge_model="Tiered", tiers=[{"up_to": None, "unit_price": "1", "flat_price": "0"}]
    )
    tiers = '[{"up_to": 10, "unit_price": 0.10}, {"up_to": null, "unit_price": "0.05"}]'
    response = logged_in.post(
        change_url(charge), {"effective_date": "2026-03-01", "quantity": "1", "tiers": tiers}
    )
    assert response.status_code == 302
    assert Charge.objects.get(replaces=charge).tiers == [
        {"up_to": 10, "unit_price": "0.10"},
        {"up_to": None, "unit_price": "0.05"},
    ]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"price": "35"}, {"effective_date": ["This field is required."]}),
        ({"effective_date": APR16, "price": "thirty"}, {"price": ["Enter a number."]}),
        (
            {"effective_date": APR16, "price": "1.1234567"},
            {"price": ["Ensure that there are no more than 6 decimal places."]},
        ),
    ],
)
def test_bad_change_fields_are_shown_in_place(logged_in, billed, data, errors):
    response = logged_in.post(change_url(billed), data)
    assert response.status_code == 200
    assert form_errors(response) == errors
    assert amendments() == []


@pytest.mark.parametrize(
    ("tiers", "error"),
    [
        (
            "[{",
            "Not valid JSON (Expecting property name enclosed in double quotes at character 3).",
        ),
        (
            '[{"up_to": 10, "unit_price": "1"}]',
            "The last tier must be open: set its up_to to null.",
        ),
    ],
)
def test_bad_tiers_are_shown_on_the_tiers_field(logged_in, tiers, error):
    charge = ChargeFactory(
        charge_model="Volume", tiers=[{"up_to": None, "unit_price": "1", "flat_price": "0"}]
    )
    response = logged_in.post(
        change_url(charge), {"effective_date": APR16, "quantity": "1", "tiers": tiers}
    )
    assert form_errors(response) == {"tiers": [error]}


def test_a_change_that_changes_nothing_shows_the_services_sentence(logged_in, billed):
    response = logged_in.post(change_url(billed), {"effective_date": APR16, "price": "30"})
    assert response.status_code == 200
    assert "C00000901 already has these terms: nothing changes." in response.content.decode()
    assert amendments() == []


def test_the_change_preview_says_what_the_next_run_credits(logged_in, billed):
    response = logged_in.post(
        change_url(billed), {"effective_date": "2026-04-20", "price": "35", "preview": "1"}
    )
    assert "The next bill run credits 2026-04-20 – 2026-04-30." in response.content.decode()
    assert not Charge.objects.filter(replaces=billed).exists()


# -- Remove a charge ----------------------------------------------------------------------------


def test_removing_a_charge_ends_it_the_day_before(logged_in, operator, billed):
    response = logged_in.post(remove_url(billed), {"effective_date": APR16})
    assert_back_on_the_account_page(
        response, billed.account, "C00000901 removed: it ends on 2026-04-15."
    )
    billed.refresh_from_db()
    assert billed.effective_end == dt.date(2026, 4, 15)
    assert amendments() == [("RemoveCharge", "C00000901", dt.date(2026, 4, 16), "operator")]


def test_a_bad_removal_date_is_shown_on_its_field(logged_in, billed):
    response = logged_in.post(remove_url(billed), {"effective_date": "16/04/2026"})
    assert form_errors(response) == {"effective_date": ["Enter a valid date."]}


def test_removing_from_the_first_day_shows_the_services_sentence(logged_in, billed):
    response = logged_in.post(remove_url(billed), {"effective_date": "2026-01-01"})
    assert "C00000901 starts on 2026-01-01: remove it from a later day." in (
        response.content.decode()
    )
    billed.refresh_from_db()
    assert billed.effective_end is None


def test_the_remove_preview_says_what_the_next_run_credits(logged_in, billed):
    response = logged_in.post(remove_url(billed), {"effective_date": "2026-04-01", "preview": "1"})
    assert "The next bill run credits 2026-04-01 – 2026-04-30." in response.content.decode()
    billed.refresh_from_db()
    assert billed.effective_end is None


# -- Add a charge -------------------------------------------------------------------------------


def add_data(**changes):
    data = {
        "name": "Support",
        "charge_type": "Recurring",
        "charge_model": "FlatFee",
        "price": "25.50",
        "quantity": "",
        "tiers": "",
        "uom": "",
        "billing_period": "Month",
        "billing_timing": "InAdvance",
        "effective_start": "2026-05-01",
        "effective_end": "",
    }
    return data | changes


def test_the_add_form_offers_every_field_of_a_charge(logged_in, billed):
    response = logged_in.get(add_url(billed.subscription))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["price"].value() is None  # a flat fee left at 0 would bill nothing
    assert form["quantity"].value() == "1"
    assert form["effective_start"].value() == timezone.localdate()
    assert list(form.fields) == [
        "name",
        "charge_type",
        "charge_model",
        "price",
        "quantity",
        "tiers",
        "uom",
        "billing_period",
        "billing_timing",
        "effective_start",
        "effective_end",
    ]


def test_adding_a_charge_numbers_it_and_records_who(logged_in, operator, billed):
    response = logged_in.post(add_url(billed.subscription), add_data())
    added = Charge.objects.get(name="Support")
    assert_back_on_the_account_page(
        response, billed.account, f"{added.number} Support added to S00000901."
    )
    assert added.price == Decimal("25.50")
    assert added.quantity == Decimal("1")
    assert added.account_id == billed.account_id
    assert added.effective_start == dt.date(2026, 5, 1)
    assert added.effective_end is None
    assert amendments() == [("AddCharge", added.number, dt.date(2026, 5, 1), "operator")]


def test_adding_a_usage_charge_with_tiers(logged_in, billed):
    data = add_data(
        name="Storage",
        charge_type="Usage",
        charge_model="Volume",
        price="",
        uom="GB",
        billing_timing="InArrears",
        tiers='[{"up_to": 100, "unit_price": "0.10"}, {"up_to": null, "unit_price": "0.08"}]',
    )
    assert logged_in.post(add_url(billed.subscription), data).status_code == 302
    added = Charge.objects.get(name="Storage")
    assert added.price == Decimal("0")
    assert added.tiers[0] == {"up_to": 100, "unit_price": "0.10"}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"name": ""}, {"name": ["This field is required."]}),
        ({"price": ""}, {"price": ["Flat fee and per unit charges need a price."]}),
        ({"price": "12,50"}, {"price": ["Enter a number."]}),
        (
            {"billing_period": ""},
            {"billing_period": ["Recurring and usage charges need a billing period."]},
        ),
        (
            {"effective_end": "2026-04-30"},
            {"effective_end": ["A charge cannot end before it starts."]},
        ),
        (
            {"tiers": '[{"up_to": null, "unit_price": "1"}]'},
            {"tiers": ["Only Tiered and Volume charges have tiers."]},
        ),
        (
            {"charge_type": "Usage", "charge_model": "PerUnit"},
            {"billing_timing": ["Usage is always billed in arrears."]},
        ),
        (
            {"charge_type": "Usage", "billing_timing": "InArrears"},
            {"charge_model": ["Usage charges are rated per unit, tiered or volume."]},
        ),
        ({"effective_start": "May 1"}, {"effective_start": ["Enter a valid date."]}),
    ],
)
def test_bad_charge_fields_are_shown_in_place(logged_in, billed, changes, errors):
    response = logged_in.post(add_url(billed.subscription), add_data(**changes))
    assert response.status_code == 200
    assert form_errors(response) == errors
    assert not Charge.objects.filter(name="Support").exists()


def test_adding_before_the_subscription_starts_shows_the_services_sentence(logged_in, billed):
    data = add_data(effective_start="2025-12-01")
    content = logged_in.post(add_url(billed.subscription), data).content.decode()
    assert "2025-12-01 is before S00000901&#x27;s start on 2026-01-01." in content
    assert amendments() == []


# Session, user, permissions (2), the subscription or charge, its charges, the preview's credits.
FORM_QUERIES = 7


def test_the_forms_cost_the_same_queries_for_one_charge_or_many(
    logged_in, billed, django_assert_max_num_queries
):
    def visit_each():
        for url, data in every_amendment_page(billed):
            with django_assert_max_num_queries(FORM_QUERIES):
                assert logged_in.get(url).status_code == 200
            if "add-charge" not in url:
                with django_assert_max_num_queries(FORM_QUERIES):
                    response = logged_in.post(url, data | {"preview": "1"})
                assert 'data-testid="next-run"' in response.content.decode()

    visit_each()
    ChargeFactory.create_batch(
        25, subscription=billed.subscription, charged_through=dt.date(2026, 5, 31)
    )
    visit_each()


# -- Who may amend ------------------------------------------------------------------------------


def every_amendment_page(charge):
    subscription = charge.subscription
    return [
        (cancel_url(subscription), {"cancel_date": APR16}),
        (change_url(charge), {"effective_date": APR16, "price": "35"}),
        (remove_url(charge), {"effective_date": APR16}),
        (add_url(subscription), add_data()),
    ]


def test_a_billing_viewer_may_not_open_or_submit_an_amendment(client, viewer, billed):
    client.force_login(viewer)
    for url, data in every_amendment_page(billed):
        assert client.get(url).status_code == 403, url
        assert client.post(url, data).status_code == 403, url
    assert amendments() == []


def test_an_anonymous_visitor_is_sent_to_log_in(client, billed):
    for url, data in every_amendment_page(billed):
        assert client.post(url, data).status_code == 302
    assert amendments() == []


# -- The account page: buttons and history -----------------------------------------------------


def amend_links(content: str) -> set[str]:
    return set(
        re.findall(r'href="(/accounts/\d+/(?:subscriptions|charges)/\d+/[a-z-]+/)"', content)
    )


def test_an_operator_may_amend_active_subscriptions_and_running_charges(logged_in, billed):
    subscription = billed.subscription
    one_time = ChargeFactory(
        subscription=subscription, charge_type="OneTime", billing_period="", number="C00000903"
    )
    ended = ChargeFactory(
        subscription=subscription, effective_end=dt.date(2026, 1, 31), number="C00000904"
    )
    closing = ChargeFactory(
        subscription=subscription, effective_end=dt.date(2999, 12, 31), number="C00000905"
    )
    replaced = ChargeFactory(
        subscription=subscription, effective_end=dt.date(2999, 1, 31), number="C00000906"
    )
    ChargeFactory(
        subscription=subscription,
        replaces=replaced,
        effective_start=dt.date(2999, 2, 1),
        number="C00000907",
    )
    canceled = ChargeFactory(
        subscription__account=billed.account,
        subscription__status="Canceled",
        subscription__canceled_on=dt.date(2026, 3, 1),
    )
    content = logged_in.get(billed.account.get_absolute_url()).content.decode()
    successor = Charge.objects.get(number="C00000907")
    assert amend_links(content) == {
        cancel_url(subscription),
        add_url(subscription),
        change_url(billed),
        remove_url(billed),
        remove_url(one_time),  # a one-time charge is removed, never changed
        change_url(closing),
        remove_url(closing),
        change_url(successor),
        remove_url(successor),
    }
    assert change_url(ended) not in content and change_url(replaced) not in content
    assert cancel_url(canceled.subscription) not in content


def test_a_billing_viewer_sees_no_amendment_button(client, viewer, billed):
    client.force_login(viewer)
    content = client.get(billed.account.get_absolute_url()).content.decode()
    assert amend_links(content) == set()
    assert 'data-testid="charge-actions"' not in content


def test_each_permission_shows_its_own_buttons(client, django_user_model, billed):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("adder")
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_account", "add_charge"])
    )
    client.force_login(user)
    content = client.get(billed.account.get_absolute_url()).content.decode()
    assert amend_links(content) == {add_url(billed.subscription)}


def test_the_history_shows_who_when_what_and_the_details_newest_first(logged_in, operator, billed):
    logged_in.post(change_url(billed), {"effective_date": APR16, "price": "35"})
    successor = Charge.objects.get(replaces=billed)
    Amendment.objects.create(
        subscription=billed.subscription,
        kind=Amendment.Kind.RENEW,
        effective_date=dt.date(2027, 1, 1),
        at=timezone.now(),
        details={"term_end": ["2026-12-31", "2027-12-31"]},
    )
    logged_in.post(cancel_url(billed.subscription), {"cancel_date": "2026-06-01"})
    response = logged_in.get(billed.account.get_absolute_url())
    rows = history_rows(response)
    assert [row[1:] for row in rows] == [
        ["operator", "Cancel", "S00000901", "—", "2026-06-01", f"ended {successor.number}"],
        ["System", "Renew", "S00000901", "—", "2027-01-01", "term end 2026-12-31 → 2027-12-31"],
        [
            "operator",
            "Change charge",
            "S00000901",
            "C00000901",
            "2026-04-16",
            f"price 30 → 35; successor {successor.number}",
        ],
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[0]) for row in rows)


def test_without_amendments_the_history_says_so(logged_in, billed):
    content = logged_in.get(billed.account.get_absolute_url()).content.decode()
    assert "No amendments" in content


def test_the_history_is_paginated(logged_in, billed):
    for day in range(1, 23):
        Amendment.objects.create(
            subscription=billed.subscription,
            kind=Amendment.Kind.RENEW,
            effective_date=dt.date(2026, 1, day),
            at=timezone.now(),
        )
    first = logged_in.get(billed.account.get_absolute_url())
    assert len(history_rows(first)) == 20
    assert "history_page=2#history" in first.content.decode()
    second = logged_in.get(billed.account.get_absolute_url(), {"history_page": 2})
    assert [row[5] for row in history_rows(second)] == ["2026-01-02", "2026-01-01"]


def test_the_account_page_costs_the_same_queries_with_a_long_history(
    logged_in, billed, django_assert_max_num_queries
):
    def amend(count):
        for _ in range(count):
            charge = ChargeFactory(subscription=billed.subscription)
            Amendment.objects.create(
                subscription=billed.subscription,
                charge=charge,
                kind=Amendment.Kind.ADD_CHARGE,
                effective_date=dt.date(2026, 2, 1),
                actor=UserFactory(),
                at=timezone.now(),
                details={"name": "Plan", "price": "1", "quantity": "1", "tiers": []},
            )

    amend(1)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        assert len(history_rows(logged_in.get(billed.account.get_absolute_url()))) == 1
    amend(30)
    with django_assert_max_num_queries(DETAIL_QUERIES):
        assert len(history_rows(logged_in.get(billed.account.get_absolute_url()))) == 20


def history_rows(response) -> list[list[str]]:
    """The history table's cells, row by row, as text."""
    table = re.search(r'<table[^>]*id="amendments".*?</table>', response.content.decode(), re.S)
    rows = re.findall(r'<tr data-testid="amendment">(.*?)</tr>', table.group(0), re.S)
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


@pytest.mark.parametrize(
    ("kind", "details", "expected"),
    [
        ("Cancel", {"charges_ended": ["C1", "C2"]}, "ended C1, C2"),
        ("Cancel", {"charges_ended": []}, "no charge was running"),
        (
            "ChangeCharge",
            {"price": ["30", "35"], "successor": "C12"},
            "price 30 → 35; successor C12",
        ),
        ("ChangeCharge", {"quantity": ["1", "2.5"]}, "quantity 1 → 2.5"),
        (
            "ChangeCharge",
            {"tiers": [[{"up_to": None}], [{"up_to": 10}, {"up_to": None}]]},
            "tiers 1 tier → 2 tiers",
        ),
        (
            "RemoveCharge",
            {"effective_end": [None, "2026-04-15"]},
            "effective end open → 2026-04-15",
        ),
        (
            "AddCharge",
            {"name": "Support", "price": "25", "quantity": "1", "tiers": []},
            "Support: price 25, quantity 1",
        ),
        (
            "AddCharge",
            {"name": "Storage", "price": "0", "quantity": "1", "tiers": [{}, {}]},
            "Storage: 2 tiers, price 0, quantity 1",
        ),
        ("Renew", {"term_end": ["2026-12-31", "2027-12-31"]}, "term end 2026-12-31 → 2027-12-31"),
        ("Renew", {}, ""),
    ],
)
def test_amendment_details_read_as_a_sentence(kind, details, expected):
    assert describe_amendment(kind, details) == expected
