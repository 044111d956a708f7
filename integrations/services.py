"""Webhooks: endpoints, the events they hear of, and each delivery's attempts (issue 16).

Lower apps call config.events.emit() inside the transaction that makes a change; on_event (the
handler this app registers) writes the event and one delivery per listening endpoint in that same
transaction and queues the sends with transaction.on_commit, so a rolled-back change sends nothing.
The worker sends each delivery signed (integrations.signing), through a checked, pinned address
(integrations.netguard), and records the outcome; failures that may pass (5xx, 408, 429, timeouts,
connection errors) are tried again with exponential backoff, up to WEBHOOK_MAX_ATTEMPTS. Deliveries
about one object reach one endpoint in order: a later one waits while an earlier one is pending.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.events import EVENT_TYPES
from config.exceptions import Conflict, InvalidInput
from integrations import netguard, payloads, signing
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent

log = logging.getLogger(__name__)

# A worker holding a delivery longer than this is presumed dead; the delivery is due again then.
# Far above the longest exchange (netguard cuts one off after 3 x WEBHOOK_TIMEOUT), so a slow but
# live send is never doubled.
LEASE_MIN = timedelta(minutes=2)


def lease() -> timedelta:
    return max(LEASE_MIN, timedelta(seconds=settings.WEBHOOK_TIMEOUT * netguard.TOTAL_TIMEOUT_FACTOR * 2))


MAX_RETRY_DELAY = timedelta(hours=6)
MAX_ENDPOINTS_PER_OWNER = 20
ROTATION_GRACE = timedelta(hours=24)
# Finished deliveries (and events no delivery needs any more) are kept this long, for the record.
DELIVERY_RETENTION = timedelta(days=30)

DELIVERED = "delivered"
RETRY = "retry"
FAILED = "failed"
WAITING = "waiting"
SKIPPED = "skipped"


# --- Endpoints --------------------------------------------------------------------------------


def _allow_http() -> bool:
    # A local receiver (development, tests) has no certificate; production is https only.
    return settings.DEBUG or settings.WEBHOOKS_ALLOW_PRIVATE


def check_url(url: str) -> str:
    """The URL, if a webhook may be sent there now (InvalidInput saying why not)."""
    url = (url or "").strip()
    if not url:
        raise InvalidInput("Give the URL the webhooks are sent to.")
    if len(url) > 2000:
        raise InvalidInput("The URL can be at most 2000 characters.")
    try:
        _, host, port = netguard.check_url(url, allow_http=_allow_http())
        netguard.allowed_addresses(host, port, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
    except (netguard.Refused, netguard.Unreachable) as exc:
        raise InvalidInput(str(exc), code="url") from None
    return url


def check_events(events: Any) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise InvalidInput(f"Choose at least one event: {', '.join(EVENT_TYPES)}.", code="events")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"Unknown events: {', '.join(map(str, unknown))}. Known: {', '.join(EVENT_TYPES)}.", code="events"
        )
    return [e for e in EVENT_TYPES if e in events]  # one order, no repeats


@transaction.atomic
def endpoint_create(
    *, owner: Any, url: str, events: list[str], description: str = "", is_active: bool = True
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret (shown to the owner this once)."""
    url = check_url(url)
    events = check_events(events)
    if WebhookEndpoint.objects.filter(owner=owner).count() >= MAX_ENDPOINTS_PER_OWNER:
        raise InvalidInput(f"You can have at most {MAX_ENDPOINTS_PER_OWNER} webhook endpoints; delete one first.")
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        owner=owner, url=url, events=events, description=description.strip()[:200], is_active=is_active, secret=secret
    )
    return endpoint, secret


ENDPOINT_FIELDS = ("url", "events", "description", "is_active")


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, **fields: Any) -> WebhookEndpoint:
    """Change the URL, events, description or whether it is active; the secret changes only by rotation."""
    unknown = set(fields) - set(ENDPOINT_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if "url" in fields and fields["url"] != endpoint.url:
        fields["url"] = check_url(fields["url"])
    if "events" in fields:
        fields["events"] = check_events(fields["events"])
    if "description" in fields:
        fields["description"] = (fields["description"] or "").strip()[:200]
    for name, value in fields.items():
        setattr(endpoint, name, value)
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, grace: timedelta = ROTATION_GRACE) -> str:
    """A new signing secret, returned this once; the old one still signs for `grace` (both signatures
    are sent), so the receiver can switch without missing a delivery."""
    secret = signing.new_secret()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        secret=secret,
        previous_secret=endpoint.secret if grace else "",
        previous_secret_expires_at=timezone.now() + grace if grace else None,
        updated_at=timezone.now(),
    )
    endpoint.refresh_from_db()
    return secret


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its deliveries; nothing more is sent to it."""
    endpoint.delete()


# --- Events -----------------------------------------------------------------------------------


def on_event(event_type: str, *, owner_id: Any, obj_id: Any, data: dict[str, Any]) -> None:
    """config.events handler: record the event for every listening endpoint and send after commit.

    Called inside the caller's transaction; costs one query when nobody listens.
    """
    endpoints = WebhookEndpoint.objects.listening(owner_id=owner_id, event_type=event_type)
    if not endpoints:
        return
    with transaction.atomic():  # the event and its deliveries together, also when called outside a transaction
        _record_event(event_type, owner_id=owner_id, obj_id=obj_id, data=data, endpoints=endpoints)


def _record_event(
    event_type: str, *, owner_id: Any, obj_id: Any, data: dict[str, Any], endpoints: list[WebhookEndpoint]
) -> None:
    kind, summary = payloads.summary(event_type, obj_id)
    now = timezone.now()
    event = WebhookEvent(owner_id=owner_id, type=event_type, object_id=str(obj_id)[:64], created_at=now)
    body = {
        "id": event.message_id,
        "type": event_type,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {**summary, **data},
    }
    event.payload = json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)
    event.save()
    ids = [
        WebhookDelivery.objects.create(
            event=event, endpoint=endpoint, object_key=f"{kind}:{obj_id}"[:100], next_attempt_at=now, created_at=now
        ).pk
        for endpoint in endpoints
    ]
    transaction.on_commit(lambda: [enqueue_delivery(pk) for pk in ids])


def enqueue_delivery(delivery_id: Any) -> None:
    """Queue one send; if the queue cannot take it, the send_due schedule sends it within a minute."""
    from django_q.tasks import async_task

    try:
        async_task("integrations.tasks.deliver", delivery_id, task_name=f"webhook {delivery_id}", group="webhooks")
    except Exception:
        log.exception("could not queue webhook delivery %s; send_due sends it", delivery_id)


# --- Deliveries -------------------------------------------------------------------------------


def _earlier_waiting(delivery: WebhookDelivery) -> bool:
    return (
        WebhookDelivery.objects.waiting()
        .filter(endpoint_id=delivery.endpoint_id, object_key=delivery.object_key, pk__lt=delivery.pk)
        .exists()
    )


def deliver(delivery_id: Any) -> str:
    """Send one delivery if it is due and no earlier one for its endpoint and object is pending.

    Returns delivered, retry, failed, waiting (an earlier one goes first) or skipped (not due, taken
    by another worker, or gone). The row is claimed with one conditional UPDATE and the request goes
    out with no transaction open; a worker that dies mid-send leaves the claim to lapse after lease().
    """
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return SKIPPED
    if _earlier_waiting(delivery):
        return WAITING
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.due(now)
        .filter(pk=delivery.pk)
        .update(
            status=DeliveryStatus.SENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + lease(),
            last_attempt_at=now,
        )
    )
    if not claimed:
        return SKIPPED
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery.pk)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return _record(
            delivery, error="The endpoint is switched off; replay the delivery once it is on again.", final=True
        )
    body = delivery.event.payload.encode()
    headers = signing.headers(
        endpoint.signing_secrets(), msg_id=delivery.event.message_id, timestamp=int(time.time()), body=body
    )
    try:
        answer = netguard.post(
            endpoint.url,
            body,
            headers,
            timeout=settings.WEBHOOK_TIMEOUT,
            allow_private=settings.WEBHOOKS_ALLOW_PRIVATE,
            allow_http=_allow_http(),
        )
    except netguard.Refused as exc:
        return _record(delivery, error=f"Not sent: {exc}", final=True)
    except netguard.Unreachable as exc:
        return _record(delivery, error=str(exc), final=False)
    status = answer.status
    if 200 <= status < 300:
        return _record(delivery, answer=answer)
    if 300 <= status < 400:
        where = f" to {answer.location[:300]}" if answer.location else ""
        error = (
            f"The endpoint answered {status}, a redirect{where}; redirects are not followed: register the final URL."
        )
        return _record(delivery, answer=answer, error=error, final=True)
    retry = status >= 500 or status in (408, 429)
    excerpt = " ".join(answer.excerpt.split())[:300]
    error = f"The endpoint answered {status}" + (f": {excerpt}" if excerpt else ".")
    return _record(delivery, answer=answer, error=error, final=not retry)


def retry_delay(attempts: int) -> timedelta:
    """WEBHOOK_RETRY_BASE after the first failure, doubling each time, at most 6 hours."""
    base = timedelta(seconds=settings.WEBHOOK_RETRY_BASE)
    return min(base * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY_DELAY)


def _record(
    delivery: WebhookDelivery, *, answer: netguard.Answer | None = None, error: str = "", final: bool = False
) -> str:
    now = timezone.now()
    fields: dict[str, Any] = {
        "response_status": answer.status if answer else None,
        "response_ms": answer.ms if answer else None,
        "last_error": error[:2000],
    }
    if not error:
        outcome = DELIVERED
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=now)
    elif final or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        outcome = FAILED
        if not final:
            fields["last_error"] = f"Gave up after {delivery.attempts} attempts. {error}"[:2000]
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=now)
    else:
        outcome = RETRY
        fields.update(status=DeliveryStatus.PENDING, next_attempt_at=now + retry_delay(delivery.attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(**fields)
    log_level = logging.INFO if outcome == DELIVERED else logging.WARNING
    log.log(
        log_level,
        "webhook delivery %s (%s) attempt %s: %s %s",
        delivery.pk,
        delivery.object_key,
        delivery.attempts,
        outcome,
        error,
    )
    if outcome != RETRY:
        _release_next(delivery)
    return outcome


def _release_next(delivery: WebhookDelivery) -> None:
    """The next delivery about the same object to the same endpoint may go now."""
    following = (
        WebhookDelivery.objects.due()
        .filter(endpoint_id=delivery.endpoint_id, object_key=delivery.object_key, pk__gt=delivery.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        enqueue_delivery(following)


def send_due(*, limit: int = 200, budget: timedelta = timedelta(seconds=50)) -> int:
    """Send what is due (retries, sends the queue lost, claims whose worker died), oldest first.

    The schedule runs it every minute; returns how many were delivered. Call it outside a transaction.
    """
    deadline = time.monotonic() + budget.total_seconds()
    ids = list(WebhookDelivery.objects.due().order_by("pk").values_list("pk", flat=True)[:limit])
    delivered = 0
    for pk in ids:
        if time.monotonic() > deadline:
            break
        delivered += deliver(pk) == DELIVERED
    return delivered


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery's event again, as a new delivery with the same webhook-id (the
    receiver can tell it is the same message). A delivery still being tried is a Conflict."""
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        raise Conflict("This delivery is still being tried; replay it once it has been delivered or has failed.")
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    if not endpoint.is_active:
        raise Conflict("The endpoint is switched off; switch it on to replay deliveries to it.")
    now = timezone.now()
    replay = WebhookDelivery.objects.create(
        event_id=delivery.event_id,
        endpoint=endpoint,
        object_key=delivery.object_key,
        replay_of=delivery,
        next_attempt_at=now,
        created_at=now,
    )
    transaction.on_commit(lambda: enqueue_delivery(replay.pk))
    return replay


def deliveries_prune(*, now: Any = None) -> int:
    """Delete deliveries that finished more than DELIVERY_RETENTION ago, and the events left without
    one; pending ones are kept however old. Returns how many deliveries went."""
    cutoff = (now or timezone.now()) - DELIVERY_RETENTION
    gone = (
        WebhookDelivery.objects.filter(
            status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED], created_at__lt=cutoff
        )
        .delete()[1]
        .get(WebhookDelivery._meta.label, 0)
    )
    WebhookEvent.objects.filter(created_at__lt=cutoff, deliveries__isnull=True).delete()
    return gone
