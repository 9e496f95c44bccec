"""POST /api/v1/usage: each record answered in order; a uniqueKey makes re-sending safe."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import UsageRecord
from tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db
USAGE = "/api/v1/usage"


@pytest.fixture
def storage():
    """A usage charge from January to June 2026."""
    return ChargeFactory(
        charge_type="Usage",
        charge_model="PerUnit",
        billing_timing="InArrears",
        price=Decimal("0.25"),
        effective_start=dt.date(2026, 1, 1),
        effective_end=dt.date(2026, 6, 30),
    )


def record(charge, key="k1", **change):
    return {
        "uniqueKey": key,
        "accountNumber": charge.account.number,
        "chargeNumber": charge.number,
        "quantity": "12.5",
        "usageDate": "2026-02-05",
        **change,
    }


def send(client, *records):
    return client.post(USAGE, {"data": list(records)}, format="json")


def test_records_are_stored_pending_and_answered_in_order(operator_api, storage):
    response = send(operator_api, record(storage, "a"), record(storage, "b", quantity=3))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert [(r["uniqueKey"], r["status"]) for r in body["results"]] == [
        ("a", "Accepted"),
        ("b", "Accepted"),
    ]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 0)
    rows = UsageRecord.objects.order_by("unique_key")
    assert [(r.unique_key, r.quantity, r.status, r.source) for r in rows] == [
        ("a", Decimal("12.5"), "Pending", "API operator"),
        ("b", Decimal("3"), "Pending", "API operator"),
    ]


def test_sending_a_batch_again_stores_nothing_twice(operator_api, storage):
    batch = [record(storage, "a"), record(storage, "b")]
    send(operator_api, *batch)
    again = send(operator_api, *batch, record(storage, "c")).json()
    assert [r["status"] for r in again["results"]] == ["Duplicate", "Duplicate", "Accepted"]
    assert UsageRecord.objects.count() == 3


def test_the_same_key_twice_in_one_request_is_rejected_the_second_time(operator_api, storage):
    body = send(operator_api, record(storage, "a"), record(storage, "a")).json()
    assert [r["status"] for r in body["results"]] == ["Accepted", "Rejected"]
    assert body["results"][1]["reasons"][0]["message"] == "uniqueKey is used twice in the request"


def test_valid_records_are_stored_even_when_others_are_rejected(operator_api, storage):
    other = ChargeFactory()  # a recurring charge of another account
    cases = [
        record(storage, "ok"),
        record(storage, "r1", accountNumber="A99999999"),
        record(storage, "r2", chargeNumber="C99999999"),
        record(storage, "r3", chargeNumber=other.number),
        record(storage, "r4", accountNumber=other.account.number, chargeNumber=other.number),
        record(storage, "r5", quantity="-1"),
        record(storage, "r6", quantity="lots"),
        record(storage, "r7", usageDate="2026-02-30"),
        record(storage, "r8", usageDate="2026-07-01"),
        record(storage, "r9", usageDate="2025-12-31"),
        record(storage, "r10", quantity=True),
        record(storage, "", quantity="1"),
        record(storage, "r12", chargeNumber="C\x00"),
        "not an object",
    ]
    body = send(operator_api, *cases).json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["Accepted"] + ["Rejected"] * 13
    messages = [r["reasons"][0]["message"] for r in body["results"][1:]]
    assert messages == [
        "accountNumber unknown account A99999999",
        "chargeNumber unknown charge C99999999",
        f"chargeNumber charge {other.number} is not of account {storage.account.number} "
        f"(it belongs to {other.account.number})",
        f"chargeNumber wrong charge type: {other.number} is a Recurring charge; usage goes on "
        "Usage charges",
        "quantity is wrong: -1 is negative; it must be 0 or more",
        "quantity is wrong: 'lots' is not a number (write it with a dot, like 12.5)",
        "usageDate must be a date as YYYY-MM-DD",
        f"usageDate 2026-07-01 is after charge {storage.number} ended on 2026-06-30",
        f"usageDate 2025-12-31 is before charge {storage.number} starts on 2026-01-01",
        'quantity must be a number, like "12.5"',
        "uniqueKey is required",
        "chargeNumber must be 1 to 20 printable characters",
        "A record is a JSON object.",
    ]
    assert list(UsageRecord.objects.values_list("unique_key", flat=True)) == ["ok"]


@pytest.mark.parametrize(
    "body",
    [{}, {"data": []}, {"data": "x"}, [], {"data": [{}] * 1001}],
)
def test_a_request_that_is_not_a_batch_is_refused_whole(operator_api, body):
    response = operator_api.post(USAGE, body, format="json")
    assert response.status_code == 400
    assert response.json()["reasons"][0]["message"] == (
        'data: Send {"data": [...]} with 1 to 1,000 records.'
    )


def test_the_viewer_cannot_send_usage(viewer_api, storage):
    assert send(viewer_api, record(storage)).status_code == 403
    assert not UsageRecord.objects.exists()


def test_a_batch_costs_a_fixed_number_of_queries(operator_api, storage, django_assert_num_queries):
    batch = [record(storage, f"k{n}", usageDate=f"2026-02-{n % 28 + 1:02d}") for n in range(500)]
    send(operator_api, record(storage, "warm-up"))  # the token's last use is written once
    # the token, the user's and the groups' permissions, the charges (their accounts come with
    # them), and the insert (inside the test's transaction, in a savepoint): no account lookup
    # while every record names its charge's own account, no key lookup while none is rejected
    with django_assert_num_queries(7):
        body = send(operator_api, *batch).json()
    assert body["accepted"] == 500
