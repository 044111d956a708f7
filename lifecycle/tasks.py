"""The django-q2 entry point of the lifecycle sweep (config/schedules.py runs it every 5 minutes)."""

from __future__ import annotations

from lifecycle.sweep import sweep


def run_sweep() -> str:
    return sweep().summary()
