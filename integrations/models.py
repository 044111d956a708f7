"""Webhook endpoints, the events they hear of and each delivery; and the Idempotency-Key ledger."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class WebhookEndpointQuerySet(models.QuerySet):
    def owned_by(self, user) -> WebhookEndpointQuerySet:
        """An owner's own endpoints; webhooks are never shared, managers included (they hold secrets)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(owner=user)

    def listening(self, *, owner_id, event_type: str) -> list[WebhookEndpoint]:
        """The active endpoints of this owner (an active user) that subscribed to this event type."""
        # Filtered in Python: a JSON "contains" is not portable to SQLite, and an owner has few endpoints.
        active = self.filter(owner_id=owner_id, is_active=True, owner__is_active=True)
        return [e for e in active if event_type in (e.events or [])]


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField("URL", max_length=2000, help_text="Where deliveries are POSTed (https).")
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types this endpoint receives.")
    is_active = models.BooleanField("active", default=True)
    # The signing secret ("whsec_" + base64). Kept readable because every delivery is signed with it;
    # shown to its owner once, when it is made.
    secret = models.CharField(max_length=100, editable=False)
    # After a rotation the old secret signs too, for a while, so the receiver can switch over.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the previous during its grace."""
        now = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class WebhookEvent(models.Model):
    """One thing that happened, as the receivers get it: the exact body is kept, so a replay is identical."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    payload = models.TextField(help_text="The JSON body, byte for byte as sent and signed.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.object_id}"

    @property
    def message_id(self) -> str:
        """The webhook-id header: the same for every attempt and replay, so receivers can drop repeats."""
        return f"msg_{self.id.hex}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # A worker holds it; next_attempt_at is the end of its lease (after a crash it is due again then).
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDeliveryQuerySet(models.QuerySet):
    def owned_by(self, user) -> WebhookDeliveryQuerySet:
        return self.filter(endpoint__in=WebhookEndpoint.objects.owned_by(user))

    def waiting(self) -> WebhookDeliveryQuerySet:
        return self.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])

    def due(self, now=None) -> WebhookDeliveryQuerySet:
        return self.waiting().filter(next_attempt_at__lte=now or timezone.now())


class WebhookDelivery(models.Model):
    """One event to one endpoint: its attempts, its outcome. A replay is a new delivery of the same event.

    The integer id orders deliveries: of two for the same endpoint and object, the later waits
    while the earlier is pending (see services.deliver).
    """

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # "<kind>:<id>" of the object the event is about (photo:…, gallery:…): the unit of ordering.
    object_key = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField("response time (ms)", null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "object_key", "id"], name="webhook_delivery_order"),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} to {self.endpoint.url}"


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an Idempotency-Key, kept IDEMPOTENCY_KEY_TTL (24 h).

    scope: whose key it is ("user:<id>", or "anon:<hash of the client address>"); the same key of
    two clients never meets. While the first request runs, locked_until holds its lease.
    """

    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    locked_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_key_expiry")]

    def __str__(self) -> str:
        return f"{self.key} ({self.scope})"

    @property
    def finished(self) -> bool:
        return self.response_status is not None
