"""`clock`: moves Django's idea of now (django.utils.timezone.now) forward without sleeping.

Everything that asks `timezone.now()` (services, querysets, auto_now fields, the lifecycle sweep)
sees the moved time; the database's own clock and time.monotonic() do not move.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self.now += delta or timedelta(**kwargs)
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    moved = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", moved)
    return moved
