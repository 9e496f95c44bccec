"""Webhooks against a real local HTTP server: signed deliveries after a run's transition,
retries with backoff for a day, every attempt recorded, replays, and who may see what."""

import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading
from decimal import Decimal

import pytest
import time_machine

from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint
from tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """A local endpoint: answers each POST with the next status of `answers` (then 200), and
    `body` as its answer when set."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.body: bytes | None = None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": body, "path": self.path}
                )
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.end_headers()
                answer = b"thanks" if status == 200 else b"not now"
                self.wfile.write(receiver.body if receiver.body is not None else answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def verify(secret: str, header: str, body: str) -> bool:
    """What a receiver does (docs/api.md): recompute the HMAC of "<t>.<body>"."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


@pytest.fixture
def endpoint(operator_api, receiver):
    response = operator_api.post(
        "/api/v1/webhooks",
        {"url": receiver.url, "events": ["billRun.completed", "billRun.posted"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return WebhookEndpoint.objects.get(pk=response.json()["id"])


def test_a_completed_run_is_posted_to_the_endpoint_signed(endpoint, receiver, run_now):
    ChargeFactory(price=Decimal("100.00"))
    run = run_now()
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    body = json.loads(sent["body"])
    assert body["event"] == "billRun.completed"
    assert body["data"]["billRunNumber"] == run.number
    assert body["data"]["status"] == "Completed"
    assert sent["headers"]["Billcycle-Event"] == "billRun.completed"
    assert verify(endpoint.secret, sent["headers"]["Billcycle-Signature"], sent["body"])
    assert not verify("whsec_other", sent["headers"]["Billcycle-Signature"], sent["body"])
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("Succeeded", 1)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 200 and attempt.response_excerpt == "thanks"
    assert attempt.response_ms >= 0


def test_posting_announces_billrun_posted(
    endpoint, receiver, run_now, operator_api, django_capture_on_commit_callbacks
):
    ChargeFactory()
    run = run_now()
    with django_capture_on_commit_callbacks(execute=True):
        operator_api.put(f"/api/v1/bill-runs/{run.number}/post")
    events = [json.loads(r["body"])["event"] for r in receiver.requests]
    assert events == ["billRun.completed", "billRun.posted"]


def test_a_failing_endpoint_is_retried_with_backoff_until_it_answers(
    endpoint, receiver, run_now, django_capture_on_commit_callbacks
):
    receiver.answers = [500, 503]
    ChargeFactory()
    start = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        run_now()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("Pending", 1)
    assert delivery.next_attempt_at == start + dt.timedelta(seconds=30)
    with time_machine.travel(start + dt.timedelta(seconds=10), tick=False):
        assert webhooks.retry_due() == 0  # not due yet
    with time_machine.travel(start + dt.timedelta(seconds=31), tick=False):
        assert webhooks.retry_due() == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == start + dt.timedelta(seconds=31 + 60)  # doubled
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        webhooks.retry_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("Succeeded", 3)
    assert [a.status_code for a in delivery.attempt_log.order_by("id")] == [500, 503, 200]
    assert len({r["body"] for r in receiver.requests}) == 1  # the same bytes each time


def test_after_a_day_of_failures_a_delivery_fails(endpoint, receiver):
    receiver.answers = [500] * 5
    start = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event="billRun.completed", body="{}"
        )
        webhooks.deliver(delivery.pk)
    with time_machine.travel(start + dt.timedelta(days=1, minutes=1), tick=False):
        webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("Failed", 2, None)


def test_an_unreachable_endpoint_records_the_error(operator, run_now):
    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/nothing-listens", events=["billRun.completed"]
    )
    ChargeFactory()
    run_now()
    attempt = WebhookDelivery.objects.get(endpoint=endpoint).attempt_log.get()
    assert attempt.status_code is None
    assert "Connection refused" in attempt.error


def test_only_enabled_endpoints_that_want_the_event_get_it(receiver, run_now):
    WebhookEndpoint.objects.create(url=receiver.url, events=["billRun.error"])
    WebhookEndpoint.objects.create(url=receiver.url, events=["billRun.completed"], enabled=False)
    ChargeFactory()
    run_now()
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_a_delivery_is_replayed_from_its_page(
    endpoint, receiver, run_now, logged_in, django_capture_on_commit_callbacks
):
    ChargeFactory()
    run_now()
    delivery = WebhookDelivery.objects.get()
    page = logged_in.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret in page and "Succeeded" in page
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(f"/webhooks/deliveries/{delivery.pk}/replay/")
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    replay = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert (replay.replay_of, replay.status) == (delivery, "Succeeded")


def test_deliveries_and_replays_through_the_api(
    endpoint, receiver, run_now, operator_api, django_capture_on_commit_callbacks
):
    ChargeFactory()
    run_now()
    listed = operator_api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries").json()["data"]
    assert [(d["event"], d["status"], len(d["attemptLog"])) for d in listed] == [
        ("billRun.completed", "Succeeded", 1)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        replayed = operator_api.post(f"/api/v1/webhook-deliveries/{listed[0]['id']}/replay")
    assert replayed.status_code == 201
    assert len(receiver.requests) == 2


@pytest.mark.parametrize(
    "body, message",
    [
        ({"url": "not a url", "events": ["billRun.completed"]}, "url: Enter a valid URL."),
        ({"url": "https://x.example", "events": []}, "events: Ensure this field has at least 1"),
        ({"url": "https://x.example", "events": ["run.done"]}, 'events.0: "run.done" is not a'),
    ],
)
def test_a_bad_endpoint_is_refused(operator_api, body, message):
    response = operator_api.post("/api/v1/webhooks", body, format="json")
    assert response.status_code == 400
    assert response.json()["reasons"][0]["message"].startswith(message)


def test_the_viewer_sees_endpoints_without_their_secret_and_changes_nothing(
    endpoint, viewer_api, client, viewer
):
    listed = viewer_api.get("/api/v1/webhooks").json()["data"]
    assert listed[0]["url"] == endpoint.url and listed[0]["secret"] == ""
    assert viewer_api.get(f"/api/v1/webhooks/{endpoint.pk}").json()["secret"] == ""
    assert viewer_api.delete(f"/api/v1/webhooks/{endpoint.pk}").status_code == 403
    refused = viewer_api.post(
        "/api/v1/webhooks", {"url": "https://x.example", "events": ["billRun.error"]}, format="json"
    )
    assert refused.status_code == 403
    client.force_login(viewer)
    page = client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.url in page and endpoint.secret not in page
    assert client.post("/webhooks/", {"url": "https://x.example"}).status_code == 403


def test_the_operator_registers_an_endpoint_on_the_page(logged_in, receiver):
    response = logged_in.post(
        "/webhooks/", {"url": receiver.url, "events": ["billRun.error"], "description": "ERP"}
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.url == f"/webhooks/{endpoint.pk}/"
    assert endpoint.events == ["billRun.error"] and endpoint.created_by.username == "operator"
    logged_in.post(f"/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert endpoint.enabled is False


def delivery_to(url: str, **fields) -> WebhookDelivery:
    endpoint = WebhookEndpoint.objects.create(url=url, events=["billRun.completed"], **fields)
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event="billRun.completed", body="{}", next_attempt_at=None
    )


def test_an_answer_postgresql_cannot_store_is_recorded_cleaned(receiver):
    receiver.body = b"ok\x00\x00 done"
    delivery = delivery_to(receiver.url)
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "Succeeded"
    assert delivery.attempt_log.get().response_excerpt == "ok done"


def test_whatever_the_post_meets_the_attempt_is_recorded_and_retried_later(monkeypatch):
    def broken(delivery):
        raise TimeoutError("the body stalled")

    monkeypatch.setattr(webhooks, "_post", broken)
    delivery = delivery_to("https://hooks.example.com/in")
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("Pending", 1)
    assert delivery.attempt_log.get().error == "TimeoutError: the body stalled"
    assert delivery.next_attempt_at is not None


def test_credentials_in_the_url_go_as_basic_auth_and_stay_with_operators(
    receiver, viewer_api, client, viewer
):
    url = receiver.url.replace("http://", "http://erp:s3cret@") + "?token=abc"
    delivery = delivery_to(url)
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "Succeeded"
    sent = receiver.requests[0]
    assert sent["headers"]["Authorization"] == "Basic ZXJwOnMzY3JldA=="  # erp:s3cret
    assert sent["path"] == "/hooks?token=abc"
    listed = viewer_api.get("/api/v1/webhooks").json()["data"][0]
    assert "s3cret" not in listed["url"] and "abc" not in listed["url"]
    client.force_login(viewer)
    for page in ("/webhooks/", f"/webhooks/{delivery.endpoint_id}/"):
        assert "s3cret" not in client.get(page).content.decode()


def test_viewers_never_read_the_error_met_reaching_an_endpoint(viewer_api, client, viewer):
    delivery = delivery_to("http://127.0.0.1:9/internal-admin")
    webhooks.deliver(delivery.pk)
    attempt = viewer_api.get(f"/api/v1/webhooks/{delivery.endpoint_id}/deliveries").json()["data"][
        0
    ]["attemptLog"][0]
    assert attempt["error"] == "no answer"
    client.force_login(viewer)
    page = client.get(f"/webhooks/{delivery.endpoint_id}/").content.decode()
    assert "Connection refused" not in page and "no answer" in page


def test_a_disabled_endpoint_gets_nothing(receiver):
    delivery = delivery_to(receiver.url, enabled=False)
    assert webhooks.deliver(delivery.pk) is None
    assert webhooks.retry_due() == 0
    assert receiver.requests == []


def test_any_port_or_scheme_an_operator_types_is_handled(operator_api, viewer_api):
    delivery_to("https://h.example:99999/in")
    assert viewer_api.get("/api/v1/webhooks").status_code == 200
    refused = operator_api.post(
        "/api/v1/webhooks", {"url": "ftp://files.example/in", "events": ["billRun.error"]},
        format="json",
    )  # fmt: skip
    assert refused.status_code == 400
    assert refused.json()["reasons"][0]["message"].startswith("A webhook URL starts with https://")
