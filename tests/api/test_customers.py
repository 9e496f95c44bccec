"""Accounts, subscriptions and charges through the API, with the amendments of DESIGN §9."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Account, Amendment, Charge, Subscription
from tests.factories import AccountFactory, ChargeFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def reasons(response) -> list[str]:
    assert response.json()["success"] is False, response.json()
    return [reason["message"] for reason in response.json()["reasons"]]


ACCOUNT = {
    "name": "Acme GmbH",
    "currency": "EUR",
    "billCycleDay": 15,
    "batch": "Batch7",
    "billToEmail": "ap@acme.example",
}


def test_an_account_is_created_numbered_and_read_back(operator_api):
    response = operator_api.post("/api/v1/accounts", ACCOUNT, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["accountNumber"].startswith("A") and body["status"] == "Active"
    account = Account.objects.get(number=body["accountNumber"])
    assert (account.currency, account.bill_cycle_day, account.batch) == ("EUR", 15, "Batch7")
    again = operator_api.get(f"/api/v1/accounts/{body['accountNumber']}").json()
    assert again["name"] == "Acme GmbH" and again["paymentTermDays"] == 30


@pytest.mark.parametrize(
    "change, message",
    [
        ({"currency": "EURO"}, "currency: Ensure this field has no more than 3 characters."),
        ({"currency": "XYZ"}, "currency:"),
        ({"billCycleDay": 32}, "billCycleDay: Ensure this value is less than or equal to 31."),
        ({"batch": "Batch99"}, 'batch: "Batch99" is not a valid choice.'),
        ({"name": ""}, "name: This field may not be blank."),
        ({"billToEmail": "nope"}, "billToEmail: Enter a valid email address."),
        ({"name": "a\x00b"}, "name: Null characters are not allowed."),
    ],
)
def test_a_bad_account_is_refused(operator_api, change, message):
    response = operator_api.post("/api/v1/accounts", {**ACCOUNT, **change}, format="json")
    assert response.status_code == 400
    assert any(reason.startswith(message) for reason in reasons(response))
    assert not Account.objects.exists()


def test_accounts_are_listed_with_a_status_filter(operator_api):
    AccountFactory(status="Draft")
    active = AccountFactory()
    body = operator_api.get("/api/v1/accounts", {"status": "Active"}).json()
    assert [row["accountNumber"] for row in body["data"]] == [active.number]
    assert operator_api.get("/api/v1/accounts", {"status": "x\x00"}).status_code == 400


SUBSCRIPTION = {
    "termStartDate": "2026-01-01",
    "termEndDate": "2026-12-31",
    "autoRenew": True,
    "renewalTerm": 12,
    "charges": [
        {
            "name": "Platform",
            "chargeType": "Recurring",
            "chargeModel": "FlatFee",
            "price": "100.00",
            "billingPeriod": "Month",
            "billingTiming": "InAdvance",
            "effectiveStartDate": "2026-01-01",
        },
        {
            "name": "Storage",
            "chargeType": "Usage",
            "chargeModel": "Tiered",
            "tiers": [
                {"up_to": "100", "unit_price": "0.10"},
                {"up_to": None, "unit_price": "0.05"},
            ],
            "uom": "GB",
            "billingPeriod": "Month",
            "billingTiming": "InArrears",
            "effectiveStartDate": "2026-01-01",
        },
    ],
}


def test_a_subscription_is_created_with_its_charges(operator_api):
    account = AccountFactory()
    response = operator_api.post(
        "/api/v1/subscriptions", {**SUBSCRIPTION, "accountNumber": account.number}, format="json"
    )
    assert response.status_code == 201, response.json()
    number = response.json()["subscriptionNumber"]
    subscription = Subscription.objects.get(number=number)
    assert subscription.account == account and subscription.term_end == dt.date(2026, 12, 31)
    charges = operator_api.get(f"/api/v1/subscriptions/{number}/charges").json()["data"]
    assert sorted((c["name"], c["chargeType"]) for c in charges) == [
        ("Platform", "Recurring"),
        ("Storage", "Usage"),
    ]
    storage = Charge.objects.get(name="Storage")
    assert storage.tiers == [
        {"up_to": "100.000000", "unit_price": "0.100000"},
        {"up_to": None, "unit_price": "0.050000"},
    ]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"accountNumber": "A99999999"}, "accountNumber: No account 'A99999999'."),
        ({"termEndDate": "2025-12-31"}, "The term cannot end before it starts."),
        (
            {"charges": [{**SUBSCRIPTION["charges"][1], "chargeModel": "FlatFee"}]},
            "Usage charges are rated per unit, tiered or volume.",
        ),
        (
            {"charges": [{**SUBSCRIPTION["charges"][0], "billingPeriod": "Fortnight"}]},
            'charges.0.billingPeriod: "Fortnight" is not a valid choice.',
        ),
    ],
)
def test_a_bad_subscription_is_refused_and_nothing_is_written(operator_api, change, message):
    account = AccountFactory()
    body = {**SUBSCRIPTION, "accountNumber": account.number, **change}
    response = operator_api.post("/api/v1/subscriptions", body, format="json")
    assert response.status_code == 400
    assert any(message in reason for reason in reasons(response)), reasons(response)
    assert not Subscription.objects.exists() and not Charge.objects.exists()


def test_canceling_a_subscription_ends_its_charges_and_records_who(operator_api, operator):
    charge = ChargeFactory()
    number = charge.subscription.number
    response = operator_api.put(
        f"/api/v1/subscriptions/{number}/cancel",
        {"cancellationEffectiveDate": "2026-03-16"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "Canceled"
    assert response.json()["cancellationEffectiveDate"] == "2026-03-16"
    charge.refresh_from_db()
    assert charge.effective_end == dt.date(2026, 3, 15)
    assert Amendment.objects.get().actor == operator
    again = operator_api.put(
        f"/api/v1/subscriptions/{number}/cancel",
        {"cancellationEffectiveDate": "2026-03-16"},
        format="json",
    )
    assert again.status_code == 400
    assert reasons(again) == [f"{number} is already canceled from 2026-03-16."]


def test_changing_a_charge_answers_its_successor(operator_api):
    charge = ChargeFactory(charged_through=dt.date(2026, 3, 31))
    response = operator_api.put(
        f"/api/v1/charges/{charge.number}/change",
        {"effectiveDate": "2026-03-16", "price": "150.00"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["replacesChargeNumber"] == charge.number
    assert Decimal(body["price"]) == Decimal("150")
    assert body["effectiveStartDate"] == "2026-03-16"
    charge.refresh_from_db()
    assert charge.effective_end == dt.date(2026, 3, 15)
    same = operator_api.put(
        f"/api/v1/charges/{body['chargeNumber']}/change",
        {"effectiveDate": "2026-04-01", "price": "150.00"},
        format="json",
    )
    assert same.status_code == 400
    assert "already has these terms" in reasons(same)[0]


def test_adding_and_removing_a_charge(operator_api):
    subscription = SubscriptionFactory()
    added = operator_api.post(
        f"/api/v1/subscriptions/{subscription.number}/charges",
        {**SUBSCRIPTION["charges"][0], "name": "Support"},
        format="json",
    )
    assert added.status_code == 201, added.json()
    number = added.json()["chargeNumber"]
    removed = operator_api.put(
        f"/api/v1/charges/{number}/remove", {"effectiveDate": "2026-05-01"}, format="json"
    )
    assert removed.status_code == 200
    assert removed.json()["effectiveEndDate"] == "2026-04-30"
    assert list(Amendment.objects.order_by("id").values_list("kind", flat=True)) == [
        "AddCharge",
        "RemoveCharge",
    ]


def test_the_viewer_reads_customers_and_cannot_change_them(viewer_api):
    charge = ChargeFactory()
    assert viewer_api.get(f"/api/v1/accounts/{charge.account.number}").status_code == 200
    assert viewer_api.get(f"/api/v1/subscriptions/{charge.subscription.number}").status_code == 200
    assert viewer_api.get(f"/api/v1/charges/{charge.number}").status_code == 200
    writes = [
        viewer_api.post("/api/v1/accounts", ACCOUNT, format="json"),
        viewer_api.post("/api/v1/subscriptions", SUBSCRIPTION, format="json"),
        viewer_api.put(
            f"/api/v1/subscriptions/{charge.subscription.number}/cancel",
            {"cancellationEffectiveDate": "2026-02-01"},
            format="json",
        ),
        viewer_api.post(
            f"/api/v1/subscriptions/{charge.subscription.number}/charges", {}, format="json"
        ),
        viewer_api.put(f"/api/v1/charges/{charge.number}/change", {}, format="json"),
        viewer_api.put(f"/api/v1/charges/{charge.number}/remove", {}, format="json"),
    ]
    assert [response.status_code for response in writes] == [403] * 6
