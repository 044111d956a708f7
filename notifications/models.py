"""One email to one person about one event; the key makes sure an event is never mailed twice."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # A worker has claimed it and is talking to the mail server; next_attempt_at is the end of its
    # lease (after a crash the row is due again then, see services.send_notification).
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class NotificationQuerySet(models.QuerySet):
    def due(self) -> NotificationQuerySet:
        """Waiting to be sent and due now: pending ones, and claims whose worker died."""
        return self.filter(
            status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING], next_attempt_at__lte=timezone.now()
        )


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(
        max_length=200, unique=True, help_text="The event's identity: a key is mailed once, whoever asks again."
    )
    kind = models.SlugField(max_length=50, help_text="What happened, e.g. selection-submitted.")
    topic = models.CharField(max_length=100, blank=True, help_text="What it is about, e.g. gallery:<id>.")
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
            models.Index(fields=["topic"], name="notification_topic"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"
