"""What a careful reviewer tried against the API: forged cursors, JSON nested beyond Python's
reach, keys that collide with Billcycle's own, re-sent usage whose charge has ended since,
redirecting webhook receivers, and the permissions a new handler would get by default."""

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest

from accounts.models import Charge, UsageRecord
from billruns.models import BillRun
from tests.api.conftest import token_client
from tests.factories import ChargeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("position", ["abc", "1e9", "-1", "9" * 30, "１２"])
def test_a_forged_cursor_is_404_not_500(operator_api, position):
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    for path in ("/api/v1/bill-runs", "/api/v1/accounts", "/api/v1/invoices"):
        response = operator_api.get(path, {"cursor": cursor})
        assert response.status_code == 404, (path, response.status_code)
        assert response.json()["reasons"][0]["message"] == "Invalid cursor"


def test_json_nested_beyond_pythons_reach_is_400(operator_api):
    response = operator_api.post("/api/v1/usage", "[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["reasons"][0]["message"] == "JSON parse error - nested too deeply."


def test_idempotency_keys_belong_to_their_user_and_never_meet_billcycles_own(
    operator, django_capture_on_commit_callbacks
):
    ChargeFactory()
    other = UserFactory(username="other")
    other.groups.add(*operator.groups.all())
    body = {"targetDate": "2026-02-01", "invoiceDate": "2026-02-01"}
    key = {"Idempotency-Key": "schedule-1-2026-02-01"}  # a schedule's own key shape
    with django_capture_on_commit_callbacks(execute=True):
        first = token_client(operator).post("/api/v1/bill-runs", body, format="json", headers=key)
        second = token_client(other).post("/api/v1/bill-runs", body, format="json", headers=key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    stored = set(BillRun.objects.values_list("idempotency_key", flat=True))
    assert "schedule-1-2026-02-01" not in stored
    assert all(k.startswith("api:") and len(k) < 100 for k in stored)


def test_usage_sent_again_after_its_charge_ended_is_a_duplicate_not_a_rejection(operator_api):
    charge = ChargeFactory(charge_type="Usage", charge_model="PerUnit", billing_timing="InArrears")
    record = {
        "uniqueKey": "evt-1",
        "accountNumber": charge.account.number,
        "chargeNumber": charge.number,
        "quantity": "1",
        "usageDate": "2026-03-10",
    }
    assert (
        operator_api.post("/api/v1/usage", {"data": [record]}, format="json").json()["accepted"]
        == 1
    )
    Charge.objects.filter(pk=charge.pk).update(effective_end=dt.date(2026, 2, 28))
    again = operator_api.post("/api/v1/usage", {"data": [record]}, format="json").json()
    assert again["results"] == [{"uniqueKey": "evt-1", "status": "Duplicate", "reasons": []}]
    assert UsageRecord.objects.count() == 1


@pytest.mark.parametrize("day", ["9999-12-31", "1999-12-31"])
def test_usage_dates_outside_the_sane_window_are_rejected(operator_api, day):
    charge = ChargeFactory(
        charge_type="Usage", charge_model="PerUnit", billing_timing="InArrears",
        effective_start=dt.date(1990, 1, 1), subscription__term_start=dt.date(1990, 1, 1),
    )  # fmt: skip
    record = {
        "uniqueKey": "evt-1",
        "accountNumber": charge.account.number,
        "chargeNumber": charge.number,
        "quantity": "1",
        "usageDate": day,
    }
    result = operator_api.post("/api/v1/usage", {"data": [record]}, format="json").json()
    assert result["results"][0]["status"] == "Rejected"
    assert result["results"][0]["reasons"][0]["message"].startswith(
        "usageDate Use a date from 2000-01-01 to"
    )


def test_a_subscriptions_charges_cannot_start_before_it(operator_api):
    charge = ChargeFactory()
    response = operator_api.post(
        "/api/v1/subscriptions",
        {
            "accountNumber": charge.account.number,
            "termStartDate": "2026-03-01",
            "charges": [
                {
                    "name": "Early",
                    "chargeType": "OneTime",
                    "chargeModel": "FlatFee",
                    "price": "5.00",
                    "effectiveStartDate": "2026-02-01",
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["reasons"][0]["message"] == (
        "2026-02-01 is before the subscription's start on 2026-03-01."
    )


def test_a_handler_without_named_permissions_is_closed(viewer):
    from rest_framework.test import APIRequestFactory

    from api.common import ApiView
    from api.common import success as ok

    class Forgotten(ApiView):
        perms = {"GET": ("billruns.view_billrun",)}

        def delete(self, request):
            return ok()

    request = APIRequestFactory().delete("/x")
    from rest_framework.test import force_authenticate

    force_authenticate(request, user=viewer)
    response = Forgotten.as_view()(request)
    assert response.status_code == 403


def test_a_redirecting_receiver_is_not_a_delivery(operator):
    import http.server
    import threading

    from api import webhooks
    from api.models import WebhookDelivery, WebhookEndpoint

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(302)
            self.send_header("Location", "https://elsewhere.example/")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = WebhookEndpoint.objects.create(
            url=f"http://127.0.0.1:{server.server_port}/", events=["billRun.completed"]
        )
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event="billRun.completed",
            body=json.dumps({"a": Decimal("1")}, default=str),
        )
        webhooks.deliver(delivery.pk)
    finally:
        server.shutdown()
        server.server_close()
    delivery.refresh_from_db()
    assert delivery.status == "Pending"
    assert delivery.attempt_log.get().status_code == 302


def test_viewers_see_webhook_urls_without_credentials_and_no_answers(viewer_api, operator):
    from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        url="https://user:pw@hooks.example.com/in?token=s3cret", events=["billRun.completed"]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="billRun.completed", body="{}"
    )
    WebhookAttempt.objects.create(
        delivery=delivery, at=delivery.created_at, status_code=200, response_ms=5,
        response_excerpt="internal answer",
    )  # fmt: skip
    listed = viewer_api.get("/api/v1/webhooks").json()["data"][0]
    assert listed["url"] == "https://hooks.example.com/in"
    attempts = viewer_api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries").json()["data"][0]
    assert attempts["attemptLog"][0]["responseExcerpt"] == ""
