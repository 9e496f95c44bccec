"""Webhooks (DESIGN §10): a run's events POSTed to the endpoints operators registered, signed,
sent from a worker after the run's transition commits, retried with backoff for a day, every
attempt recorded, any delivery replayable.

Signature: header `Billcycle-Signature: t=<unix seconds>,v1=<hex>`, where hex is the
HMAC-SHA256 of `"<t>.<body>"` with the endpoint's secret (docs/api.md shows the receiver's
side). The body is stored as sent, so a replay carries the same bytes and a new timestamp.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task
from rest_framework.utils.encoders import JSONEncoder

from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from billruns import events
from billruns.models import BillRun
from core.errors import DomainError

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10
RETRY_FOR = dt.timedelta(days=1)
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_WAIT = dt.timedelta(hours=4)
# A claimed attempt that never recorded its outcome (the worker died) is due again after this.
CLAIM = dt.timedelta(minutes=2)
EXCERPT = 500
USER_AGENT = "Billcycle-Webhooks/1"
# Deliveries queued per sweep: while workers are busy with chunks a due delivery is queued
# again each minute (its task is a no-op once another has claimed it), so keep that bounded.
SWEEP_LIMIT = 200


class WebhookError(DomainError):
    """An endpoint that cannot be registered, or a delivery that cannot be replayed."""


def check_events(names) -> list[str]:
    if not isinstance(names, list) or not names:
        raise WebhookError(f"Choose at least one event: {', '.join(events.EVENTS)}.")
    unknown = [name for name in names if name not in events.EVENTS]
    if unknown:
        raise WebhookError(f"Unknown event {unknown[0]!r}: use {', '.join(events.EVENTS)}.")
    return [name for name in events.EVENTS if name in names]


def webhook_endpoint_create(*, url: str, events: list[str], description: str = "", acting_user):
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise WebhookError("A webhook URL starts with https:// (or http:// on a private network).")
    endpoint = WebhookEndpoint(
        url=url, events=check_events(events), description=description, created_by=acting_user
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def sign(secret: str, timestamp: int, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def backoff(attempts: int) -> dt.timedelta:
    """30 s after the first failure, doubling: 1, 2, 4 … minutes, at most 4 hours apart."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


# -- sending ---------------------------------------------------------------------------------


def on_run_event(event: str, run_id: int) -> None:
    """billruns.events listener: one delivery per enabled endpoint that wants the event."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(enabled=True)
        if event in endpoint.events
    ]
    if not endpoints:
        return
    from api.billruns import bill_runs

    run = bill_runs().filter(pk=run_id).first()
    if run is None:
        return
    body = event_body(event, run)
    with transaction.atomic():
        # Due at once: if the queued task is lost, the sweep sends it within a minute.
        now = timezone.now()
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(endpoint=endpoint, event=event, body=body, next_attempt_at=now)
                for endpoint in endpoints
            ]
        )
        for delivery in deliveries:
            enqueue(delivery)


def event_body(event: str, run: BillRun) -> str:
    from api.billruns import BillRunSerializer

    payload = {
        "eventId": str(uuid.uuid4()),
        "event": event,
        "createdDate": timezone.now().isoformat(),
        "data": BillRunSerializer(run).data,
    }
    return json.dumps(payload, cls=JSONEncoder, separators=(",", ":"))


def enqueue(delivery: WebhookDelivery) -> None:
    transaction.on_commit(lambda: async_task("api.tasks.deliver_webhook", delivery.pk))


def deliver(delivery_id: int, *, now: dt.datetime | None = None) -> WebhookDelivery | None:
    """One attempt, if the delivery is still Pending and due and its endpoint enabled; None
    when another worker has it or nothing is left to do. The POST happens outside any
    transaction; whatever it meets, the attempt and its outcome are recorded, and only by the
    worker whose claim still holds (the attempt number it claimed)."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, endpoint__enabled=True
    ).exclude(next_attempt_at__gt=now)
    if not due.update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM):
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    try:
        status_code, excerpt, error, elapsed_ms = _post(delivery)
    except Exception as failure:  # never leave an attempt unrecorded: it would repeat forever
        status_code, excerpt, elapsed_ms = None, "", 0
        error = f"{type(failure).__name__}: {failure}"
    finished = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        at=now,
        status_code=status_code,
        response_ms=elapsed_ms,
        error=_text(error),
        response_excerpt=_text(excerpt),
    )
    if status_code is not None and 200 <= status_code < 300:
        outcome = {"status": WebhookDelivery.Status.SUCCEEDED, "delivered_at": finished}
        outcome["next_attempt_at"] = None
    elif finished - delivery.created_at >= RETRY_FOR:
        outcome = {"status": WebhookDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        outcome = {"next_attempt_at": finished + backoff(delivery.attempts)}
    WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    ).update(**outcome)
    delivery.refresh_from_db()
    return delivery


def _text(value: str) -> str:
    """What a receiver answered, as a text column takes it (PostgreSQL refuses NUL)."""
    return value.replace("\x00", "")[:EXCERPT]


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, str, int]:
    timestamp = int(time.time())
    url, authorization = _without_credentials(delivery.endpoint.url)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Billcycle-Event": delivery.event,
        "Billcycle-Delivery": str(delivery.pk),
        "Billcycle-Signature": sign(delivery.endpoint.secret, timestamp, delivery.body),
    }
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(
        url, data=delivery.body.encode(), method="POST", headers=headers
    )
    started = time.monotonic()
    try:
        with OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            excerpt = response.read(EXCERPT).decode("utf-8", "replace")
            return response.status, excerpt, "", _ms(started)
    except urllib.error.HTTPError as error:
        try:
            excerpt = error.read(EXCERPT).decode("utf-8", "replace") if error.fp else ""
        except Exception:  # the status came, the body stalled or broke: the status stands
            excerpt = ""
        finally:
            error.close()
        return error.code, excerpt, "", _ms(started)
    except Exception as error:  # refused, timed out, bad TLS, bad URL: all worth a retry
        return None, "", f"{type(error).__name__}: {error}", _ms(started)


def _without_credentials(url: str) -> tuple[str, str]:
    """`https://user:pw@host/x` as urllib can open it, and the credentials as Basic auth."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, ""
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(
        f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}".encode()
    ).decode()
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), f"Basic {token}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the endpoint's answer, not an instruction: following it would re-send the
    event as a bodiless GET and could count that as delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(_NoRedirects)


def display_url(url: str) -> str:
    """The URL without what may be a credential (user:password@, the query string): what
    those who may not change endpoints see."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def retry_due(*, now: dt.datetime | None = None) -> int:
    """Queue every Pending delivery whose next attempt is due (the once-a-minute sweep)."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
        ).values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    for delivery_id in due:
        async_task("api.tasks.deliver_webhook", delivery_id)
    return len(due)


def replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """The same event, same body, to the same endpoint again, as a new delivery."""
    if not delivery.endpoint.enabled:
        raise WebhookError(f"{delivery.endpoint} is disabled: enable it to replay deliveries.")
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            endpoint=delivery.endpoint,
            event=delivery.event,
            body=delivery.body,
            replay_of=delivery,
            next_attempt_at=timezone.now(),
        )
        enqueue(again)
    return again
