"""The schedules that drive retries and sweeps exist, name real functions, and run twice harmlessly."""

from __future__ import annotations

from django.utils.module_loading import import_string

from config.schedules import SCHEDULES, apply_schedules
from integrations import tasks


def test_the_webhook_and_sweep_schedules_are_applied_and_callable(db):
    from django_q.models import Schedule

    apply_schedules()
    apply_schedules()
    ours = {s["name"]: s for s in SCHEDULES if s["func"].startswith("integrations.")}
    assert {name: spec["minutes"] for name, spec in ours.items()} == {"send webhooks": 1, "integrations sweep": 60}
    for name, spec in ours.items():
        assert Schedule.objects.filter(name=name, func=spec["func"]).count() == 1
        assert callable(import_string(spec["func"]))


def test_the_tasks_run_twice_on_an_empty_database_without_harm(db):
    assert tasks.send_due() == tasks.send_due() == 0
    assert tasks.sweep() == tasks.sweep() == "integrations sweep: 0 idempotency keys, 0 webhook deliveries"
    assert tasks.deliver(12345) == "skipped"
