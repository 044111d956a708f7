"""Shared throttle counters: one atomic `hit(key, window) -> count` every process agrees on.

A throttle must count an attempt before it checks the password, and the count must be the same
in every worker, thread and machine. So a counter is incremented in one atomic step that also
returns the new value: with `REDIS_URL` set, Redis (`INCR`, plus `EXPIRE` on the first hit, in one
Lua script); otherwise the database (one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`
statement, SQLite and PostgreSQL alike). Django's cache API is not used on purpose: its `incr()`
is a read followed by a write on the database and local-memory caches, and local memory is not
shared at all.

A window starts at a key's first hit and lasts `window` seconds; the hit after it ends starts a
new window at 1. Call `hit` outside `transaction.atomic`: a rolled-back transaction would take
its hits with it.
"""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.settings import api_settings

from config.clientip import client_ip

_KEY_MAX = 200  # accounts.ThrottleCounter.key
_PURGE_CHANCE = 0.01  # of a database hit: also delete rows whose window is long over

# KEYS[1] the counter, ARGV[1] the window in seconds. Atomic: Redis runs a script alone.
_REDIS_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


def _key(key: str) -> str:
    # Usernames and addresses make keys of any length; a digest keeps them within the column.
    if len(key) <= _KEY_MAX:
        return key
    return f"{key[:100]}#{hashlib.sha256(key.encode()).hexdigest()}"


@cache
def _redis(url: str):
    import redis

    client = redis.Redis.from_url(url)
    return client, client.register_script(_REDIS_HIT)


def _redis_key(key: str) -> str:
    return f"throttle:{key}"


def hit(key: str, window: int) -> int:
    """Count one attempt under `key` and return how many there have been in its window (>= 1)."""
    key = _key(key)
    if settings.REDIS_URL:
        _, script = _redis(settings.REDIS_URL)
        return int(script(keys=[_redis_key(key)], args=[int(window)]))
    return _database_hit(key, window)


def peek(key: str) -> int:
    """How many attempts `key` has in its current window, without counting one."""
    key = _key(key)
    if settings.REDIS_URL:
        client, _ = _redis(settings.REDIS_URL)
        return int(client.get(_redis_key(key)) or 0)
    from accounts.models import ThrottleCounter

    row = ThrottleCounter.objects.filter(key=key, expires_at__gt=timezone.now()).values_list("hits", flat=True)
    return next(iter(row), 0)


def reset(key: str) -> None:
    """Forget `key`'s attempts (after a success)."""
    key = _key(key)
    if settings.REDIS_URL:
        client, _ = _redis(settings.REDIS_URL)
        client.delete(_redis_key(key))
        return
    from accounts.models import ThrottleCounter

    ThrottleCounter.objects.filter(key=key).delete()


def _database_hit(key: str, window: int) -> int:
    from accounts.models import ThrottleCounter

    now = timezone.now()
    ops = connection.ops
    table = ops.quote_name(ThrottleCounter._meta.db_table)
    key_col = ops.quote_name("key")
    now_db = ops.adapt_datetimefield_value(now)
    expires_db = ops.adapt_datetimefield_value(now + timedelta(seconds=window))
    # One statement, so it is atomic on both databases: PostgreSQL locks the row and evaluates
    # the SET on its newest version; SQLite holds the database write lock for the statement.
    sql = f"""
        INSERT INTO {table} ({key_col}, hits, expires_at) VALUES (%s, 1, %s)
        ON CONFLICT ({key_col}) DO UPDATE SET
            hits = CASE WHEN {table}.expires_at <= %s THEN 1 ELSE {table}.hits + 1 END,
            expires_at = CASE WHEN {table}.expires_at <= %s THEN excluded.expires_at ELSE {table}.expires_at END
        RETURNING hits
    """  # noqa: S608 - the table name is ours, every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, expires_db, now_db, now_db])
        count = cursor.fetchone()[0]
    if random.random() < _PURGE_CHANCE:  # spreads the cleanup over hits
        ThrottleCounter.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
    return int(count)


class AddressRateThrottle:
    """A DRF throttle: the view's `throttle_scope` rate (DEFAULT_THROTTLE_RATES) per client address.

    Unlike DRF's own throttles it counts with `hit` (shared, atomic, counted before the view
    runs) and keys by `client_ip`, so neither parallel requests nor a forged X-Forwarded-For
    get past it. A refusal is DRF's 429 with Retry-After.
    """

    def __init__(self) -> None:
        self._wait = 0

    def allow_request(self, request, view) -> bool:
        scope = view.throttle_scope
        allowed, period = _parse_rate(api_settings.DEFAULT_THROTTLE_RATES[scope])
        self._wait = period
        return hit(f"rate:{scope}:{client_ip(request)}", period) <= allowed

    def wait(self) -> int:
        return self._wait


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse_rate(rate: str) -> tuple[int, int]:
    """'10/min' -> (10, 60); the same spelling as DRF's rates."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]
