"""The API's exactly-once promises under concurrency, on PostgreSQL: one run per
Idempotency-Key, one usage record per uniqueKey, however many requests race."""

import datetime as dt
import random
from decimal import Decimal

import pytest

from accounts.models import UsageRecord
from billruns.models import BillRun
from tests.api.conftest import token_client
from tests.factories import ChargeFactory
from tests.postgres.test_constraints_postgres import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_racing_creates_with_one_idempotency_key_make_one_run(operator):
    ChargeFactory()
    clients = [token_client(operator) for _ in range(3)]

    def create(client):
        def target():
            return client.post(
                "/api/v1/bill-runs",
                {"targetDate": "2026-02-01", "invoiceDate": "2026-02-01"},
                format="json",
                headers={"Idempotency-Key": "february"},
            )

        return target

    answers = run_concurrently(*(create(client) for client in clients))
    assert not any(isinstance(answer, Exception) for answer in answers), answers
    assert sorted(answer.status_code for answer in answers) == [200, 200, 201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert BillRun.objects.count() == 1


def test_racing_batches_with_shared_keys_store_each_record_once(operator):
    charge = ChargeFactory(
        charge_type="Usage",
        charge_model="PerUnit",
        billing_timing="InArrears",
        price=Decimal("0.25"),
    )
    records = [
        {
            "uniqueKey": f"evt-{n}",
            "accountNumber": charge.account.number,
            "chargeNumber": charge.number,
            "quantity": "1",
            "usageDate": (dt.date(2026, 1, 1) + dt.timedelta(days=n % 28)).isoformat(),
        }
        for n in range(300)
    ]
    batches = []
    for seed in range(3):  # each client sends the same records in its own order
        batch = list(records)
        random.Random(seed).shuffle(batch)
        batches.append(batch)
    clients = [token_client(operator) for _ in batches]

    def send(client, batch):
        return lambda: client.post("/api/v1/usage", {"data": batch}, format="json")

    answers = run_concurrently(*(send(c, b) for c, b in zip(clients, batches, strict=True)))
    assert not any(isinstance(answer, Exception) for answer in answers), answers
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    accepted = [
        result["uniqueKey"]
        for answer in answers
        for result in answer.json()["results"]
        if result["status"] == "Accepted"
    ]
    assert sorted(accepted) == sorted(record["uniqueKey"] for record in records)
    assert sum(answer.json()["duplicates"] for answer in answers) == 600
    assert UsageRecord.objects.count() == 300
