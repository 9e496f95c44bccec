"""What the REST API keeps of its own: the tokens other systems present (DESIGN §10).

A token is shown once, when it is made; only its SHA-256 is stored, so a copy of the database
lets nobody act as a user. Tokens are long random strings, so a fast hash is enough (a slow
password hash protects guessable secrets, and would cost every request).
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "bc_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. the CRM.")
    # The key's first characters, shown in lists so a user can tell their tokens apart.
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Recorded at most once a minute per token (see api.auth): a write per request would
    # serialise busy clients on this row.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def new_key(cls) -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL an operator registered for some of the run events (billruns.events.EVENTS).

    The secret signs each delivery (HMAC-SHA256, see api.webhooks); unlike a token it is kept
    readable, because Billcycle must compute the signature and the receiver must know it."""

    url = models.URLField(max_length=500, help_text="Where the events are POSTed (https).")
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event names, e.g. billRun.completed.")
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = "webhook endpoint"

    def __str__(self):
        return self.url

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("webhook_detail", args=[self.pk])


class WebhookDelivery(models.Model):
    """One event for one endpoint: the body as signed and sent, and where its retries stand.

    Pending until an attempt gets a 2xx (Succeeded) or a day of attempts has passed (Failed);
    `next_attempt_at` says when the retry sweep sends it again (exponential backoff)."""

    class Status(models.TextChoices):
        PENDING = "Pending"
        SUCCEEDED = "Succeeded"
        FAILED = "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=50)
    body = models.TextField(help_text="The JSON sent, byte for byte as signed.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The retry sweep: Pending deliveries that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="Pending"),
                name="webhook_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what came back and how long it took."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.status_code or self.error[:40]} in {self.response_ms} ms"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
