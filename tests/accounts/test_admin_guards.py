"""The admin keeps billed history as it was billed (DESIGN §9): an account's currency and bill
cycle day once it has a document, a billed charge's pricing; the charge page points to the
amendment pages instead."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.core.test_admin import SAVE_BUTTON, post_back
from tests.factories import AccountFactory, BillingDocumentFactory, ChargeFactory

pytestmark = pytest.mark.django_db

PRICING = (
    "charge_model",
    "price",
    "quantity",
    "tiers",
    "billing_period",
    "billing_timing",
    "effective_start",
)


def account_page(account):
    return reverse("admin:accounts_account_change", args=[account.pk])


def charge_page(charge):
    return reverse("admin:accounts_charge_change", args=[charge.pk])


def subscription_page(subscription):
    return reverse("admin:accounts_subscription_change", args=[subscription.pk])


def posted(response, **changes) -> dict:
    """post_back, with the inlines' management counts even when they are 0 (which it skips)."""
    data = post_back(response, **changes)
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS"):
            data[management.add_prefix(name)] = str(management[name].value())
    return data


def editable(response) -> list[str]:
    return list(response.context["adminform"].form.fields)


# -- Accounts -----------------------------------------------------------------------------------


def test_an_account_without_documents_changes_its_currency_and_bill_cycle_day(admin_client):
    account = AccountFactory(currency="USD", bill_cycle_day=1)
    response = admin_client.get(account_page(account))
    assert {"currency", "bill_cycle_day"} <= set(editable(response))
    assert "has billing documents" not in response.content.decode()
    data = posted(response, currency="EUR", bill_cycle_day="15")
    assert admin_client.post(account_page(account), data).status_code == 302
    account.refresh_from_db()
    assert (account.currency, account.bill_cycle_day) == ("EUR", 15)


def test_an_account_with_a_document_keeps_its_currency_and_bill_cycle_day(admin_client):
    account = AccountFactory(currency="USD", bill_cycle_day=1, name="Acme")
    BillingDocumentFactory(account=account)
    response = admin_client.get(account_page(account))
    fields = editable(response)
    assert "currency" not in fields and "bill_cycle_day" not in fields
    assert "name" in fields and "batch" in fields and "payment_term_days" in fields
    content = response.content.decode()
    assert "This account has billing documents, so its currency and bill cycle day are fixed" in (
        content
    )
    assert SAVE_BUTTON in response.content
    data = posted(response, currency="EUR", bill_cycle_day="15", name="Acme Ltd")
    assert admin_client.post(account_page(account), data).status_code == 302
    account.refresh_from_db()
    assert (account.currency, account.bill_cycle_day, account.name) == ("USD", 1, "Acme Ltd")


# -- Charges ------------------------------------------------------------------------------------


def test_a_charge_that_never_billed_changes_its_pricing(admin_client):
    charge = ChargeFactory(price=Decimal("30.00"))
    response = admin_client.get(charge_page(charge))
    assert set(PRICING) <= set(editable(response))
    data = posted(response, price="35.00")
    assert admin_client.post(charge_page(charge), data).status_code == 302
    charge.refresh_from_db()
    assert charge.price == Decimal("35.00")


def test_a_billed_charge_keeps_its_pricing_and_says_why(admin_client):
    charge = ChargeFactory(
        price=Decimal("30.00"), name="Plan", charged_through=dt.date(2026, 4, 30)
    )
    response = admin_client.get(charge_page(charge))
    fields = editable(response)
    assert not set(PRICING) & set(fields)
    assert {"name", "uom", "effective_end"} <= set(fields)
    assert "Billed through 2026-04-30: its pricing, period, timing and start are fixed" in (
        response.content.decode()
    )
    data = posted(
        response,
        name="Plan (legacy)",
        price="35.00",
        quantity="2",
        charge_model="PerUnit",
        billing_period="Annual",
        billing_timing="InArrears",
        effective_start="2026-02-01",
    )
    assert admin_client.post(charge_page(charge), data).status_code == 302
    charge.refresh_from_db()
    assert charge.name == "Plan (legacy)"
    assert (charge.price, charge.quantity, charge.charge_model) == (
        Decimal("30.00"),
        Decimal("1"),
        "FlatFee",
    )
    assert (charge.billing_period, charge.billing_timing) == ("Month", "InAdvance")
    assert charge.effective_start == dt.date(2026, 1, 1)


@pytest.mark.parametrize("charged_through", [None, dt.date(2026, 4, 30)])
def test_the_charge_page_links_to_the_amendment_pages(admin_client, charged_through):
    charge = ChargeFactory(charged_through=charged_through)
    content = admin_client.get(charge_page(charge)).content.decode()
    account, subscription = charge.account_id, charge.subscription_id
    for url in (
        reverse("accounts:change_charge", args=[account, charge.pk]),
        reverse("accounts:remove_charge", args=[account, charge.pk]),
        reverse("accounts:cancel_subscription", args=[account, subscription]),
    ):
        assert f'href="{url}"' in content


def test_the_subscription_page_keeps_a_billed_charges_pricing_too(admin_client):
    billed = ChargeFactory(price=Decimal("30.00"), charged_through=dt.date(2026, 4, 30))
    fresh = ChargeFactory(subscription=billed.subscription, price=Decimal("5.00"))
    page = subscription_page(billed.subscription)
    response = admin_client.get(page)
    formset = response.context["inline_admin_formsets"][0].formset
    by_charge = {form.instance.pk: form for form in formset.forms}
    assert all(by_charge[billed.pk].fields[name].disabled for name in PRICING if name != "tiers")
    assert not by_charge[fresh.pk].fields["price"].disabled
    index = {pk: n for n, pk in enumerate(by_charge)}
    data = posted(
        response,
        **{
            f"charges-{index[billed.pk]}-price": "35.00",
            f"charges-{index[billed.pk]}-name": "Plan (legacy)",
            f"charges-{index[fresh.pk]}-price": "6.00",
        },
    )
    assert admin_client.post(page, data).status_code == 302
    billed.refresh_from_db()
    fresh.refresh_from_db()
    assert (billed.price, billed.name) == (Decimal("30.00"), "Plan (legacy)")
    assert fresh.price == Decimal("6.00")
