"""Every list endpoint costs the same number of queries at one row and at many."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db


def queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.json()
    assert response.json()["data"], path
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/accounts", "/api/v1/subscriptions", "/api/v1/invoices", "/api/v1/credit-memos"],
)
def test_a_list_costs_the_same_at_any_size(operator_api, run_now, path):
    ChargeFactory(price=Decimal("10.00"))
    ChargeFactory(price=Decimal("-10.00"))
    run_now()
    operator_api.get(path)  # the token's last use is written on its first request
    few = queries(operator_api, path)
    for _ in range(4):
        ChargeFactory(price=Decimal("10.00"))
        ChargeFactory(price=Decimal("-10.00"))
    run_now()
    assert queries(operator_api, path) == few
