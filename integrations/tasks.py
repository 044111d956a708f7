"""django-q2 entry points; the work is in services and idempotency (tasks take ids and refetch)."""

from __future__ import annotations

from typing import Any

from integrations import idempotency, services


def deliver(delivery_id: Any) -> str:
    """Send one webhook delivery. Returns normally on HTTP errors (the row records them and its
    retry), so django-q2 never runs it again on its own."""
    return services.deliver(delivery_id)


def send_due() -> int:
    """The every-minute schedule: retries that are due, and sends the queue lost."""
    return services.send_due()


def sweep() -> str:
    """The hourly schedule: forget Idempotency-Keys older than IDEMPOTENCY_KEY_TTL, and deliveries
    that finished more than 30 days ago."""
    keys = idempotency.sweep()
    deliveries = services.deliveries_prune()
    return f"integrations sweep: {keys} idempotency keys, {deliveries} webhook deliveries"
