"""The recurring jobs, applied idempotently after every migrate (galleries.apps connects apply_schedules
to post_migrate, so `manage.py migrate` is the command that applies them)."""

from __future__ import annotations

from typing import Any

SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "requeue stuck assets",
        "func": "galleries.tasks.requeue_stuck_assets",
        "schedule_type": "I",  # minutes
        # Every minute: with PROCESSING_LEASE, photos are on their way again soon after a crash.
        "minutes": 1,
    },
    {
        # issue 11: publish, warn, expire, purge, expire stale uploads, collect orphans, send mails.
        "name": "lifecycle sweep",
        "func": "lifecycle.tasks.run_sweep",
        "schedule_type": "I",
        "minutes": 5,
    },
    {
        # Issue 11: mails that could not go out (mail server down) go when it is back.
        "name": "send notifications",
        "func": "notifications.tasks.send_due",
        "schedule_type": "I",
        "minutes": 5,
    },
    {
        # Issue 16: webhook retries that are due, and sends the queue lost.
        "name": "send webhooks",
        "func": "integrations.tasks.send_due",
        "schedule_type": "I",
        "minutes": 1,
    },
    {
        # Issue 16: forget Idempotency-Keys past IDEMPOTENCY_KEY_TTL and webhook deliveries after 30 days.
        "name": "integrations sweep",
        "func": "integrations.tasks.sweep",
        "schedule_type": "I",
        "minutes": 60,
    },
]


# Schedules an earlier version created and this one no longer has (their work moved elsewhere).
RETIRED = ["expire stale uploads"]  # now a step of the lifecycle sweep


def apply_schedules(**kwargs: Any) -> int:
    """Create or update each schedule by name and remove retired ones; never duplicates. Returns how many exist."""
    from django_q.models import Schedule

    Schedule.objects.filter(name__in=RETIRED).delete()
    for spec in SCHEDULES:
        fields = {k: v for k, v in spec.items() if k != "name"}
        fields.setdefault("repeats", -1)
        Schedule.objects.update_or_create(name=spec["name"], defaults=fields)
    return len(SCHEDULES)
