"""Domain events: the one seam through which lower apps tell higher ones that something happened.

Dependencies point one way (uploads → sharing → galleries → accounts), so a service in galleries
cannot call the webhooks app (integrations) that sits above it. Instead it calls emit() here, in
config, which every app may use; a higher app registers a handler from its AppConfig.ready().

emit() is called inside the transaction that makes the change, so a handler that writes rows (the
webhook deliveries) writes them in that same transaction: a rolled-back change leaves nothing, and
whatever a handler wants to do after commit it queues with transaction.on_commit itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

log = logging.getLogger(__name__)

# What may be emitted; a handler is told only these names.
EVENT_TYPES = (
    "photo.ready",
    "photo.failed",
    "upload.completed",
    "gallery.published",
    "gallery.expired",
    "selection.submitted",
    "guest_upload.pending",
    "share_link.revoked",
)

Handler = Callable[..., None]
_handlers: list[Handler] = []


def register(handler: Handler) -> None:
    """Call handler(event_type, owner_id=…, obj_id=…, data=…) for every event; registering twice is harmless."""
    if handler not in _handlers:
        _handlers.append(handler)


def unregister(handler: Handler) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def emit(event_type: str, *, owner: Any, obj_id: Any, data: dict[str, Any] | None = None) -> None:
    """Tell every registered handler that `event_type` happened to object `obj_id` of `owner`.

    owner: a user or a user's primary key (the one whose integrations hear of it). Call it inside the
    transaction that makes the change. A handler's failure is logged and never undoes the change:
    inside a transaction each handler runs in a savepoint, so a database error in it leaves the
    caller's transaction usable (PostgreSQL aborts a transaction at its first error otherwise).
    Handlers should cost one query when they have nothing to do.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}; add it to config.events.EVENT_TYPES.")
    owner_id = getattr(owner, "pk", owner)
    if owner_id is None or not _handlers:
        return
    for handler in list(_handlers):
        try:
            if connection.in_atomic_block:
                with transaction.atomic():
                    handler(event_type, owner_id=owner_id, obj_id=obj_id, data=dict(data or {}))
            else:
                handler(event_type, owner_id=owner_id, obj_id=obj_id, data=dict(data or {}))
        except Exception:
            log.exception("event handler %r failed for %s of %s", handler, event_type, obj_id)


def emit_each(event_type: str, owners_and_ids: Any) -> None:
    """emit() once per (owner, object id) pair, e.g. each photo that holds an asset that became ready."""
    if not _handlers:
        return
    for owner, obj_id in owners_and_ids:
        emit(event_type, owner=owner, obj_id=obj_id)
