"""Schemathesis against the live test server: for every endpoint of the schema the server
serves, generated requests (valid and not) never get a 500 and every answer matches the schema.

The schema is generated at collection (drf-spectacular's generator, which the schema endpoint
serves; a test below proves the served one is the same): schemathesis's lazy `from_fixture`
does not run under pytest 9."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.services import api_token_create
from tests.factories import ChargeFactory, UsageRecordFactory, failing_charge

pytestmark = pytest.mark.django_db(transaction=True)
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


def generated_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def operator_key(operator, run_now, monkeypatch):
    """Data for every endpoint to find (a billed run with an invoice, a credit memo, a failure
    and usage), and a token of the operator with no rate limit in the way."""
    from api.throttles import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "rate", "100000/min", raising=False)
    ChargeFactory(price=Decimal("100.00"))
    ChargeFactory(price=Decimal("-5.00"))
    usage = UsageRecordFactory(usage_date=dt.date(2026, 1, 20))
    usage.charge.__class__.objects.filter(pk=usage.charge_id).update(uom="GB")
    failing_charge()
    run_now()
    from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/refused",
        events=["billRun.completed"],  # fails at once
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="billRun.completed", body="{}", status="Succeeded"
    )
    WebhookAttempt.objects.create(
        delivery=delivery, at=delivery.created_at, status_code=200, response_ms=12
    )
    return api_token_create(user=operator, name="fuzz")[1]


schema = schemathesis.openapi.from_dict(json.loads(json.dumps(generated_schema(), default=str)))


def test_the_served_schema_is_the_one_tested(live_server):
    import requests

    served = requests.get(f"{live_server.url}/api/v1/schema/?format=json", timeout=30).json()
    assert served == json.loads(json.dumps(generated_schema(), default=str))


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_input_breaks_the_api_or_its_schema(case, live_server, operator_key):
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {operator_key}"},
        checks=CHECKS,
    )
