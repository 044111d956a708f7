"""config.throttle: one atomic counter every process shares, on the database or on Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import ThrottleCounter
from config import throttle


def _parallel_hits(key: str, count: int) -> list[int]:
    """`count` threads, each with its own database connection, hit one key at the same moment."""
    start = Barrier(count)

    def one(_: int) -> int:
        try:
            start.wait()
            return throttle.hit(key, 60)
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.django_db
def test_hits_count_up_within_a_window_and_start_again_after_it():
    assert [throttle.hit("k", 60) for _ in range(3)] == [1, 2, 3]
    assert throttle.peek("k") == 3 and throttle.peek("other") == 0
    ThrottleCounter.objects.filter(key="k").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert throttle.peek("k") == 0
    assert throttle.hit("k", 60) == 1
    throttle.reset("k")
    assert throttle.peek("k") == 0


@pytest.mark.django_db
def test_keys_of_any_length_fit_and_stay_apart():
    long_a, long_b = "user:" + "a" * 400, "user:" + "a" * 399 + "b"
    assert throttle.hit(long_a, 60) == 1 and throttle.hit(long_a, 60) == 2
    assert throttle.hit(long_b, 60) == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_hits_on_the_database_each_get_their_own_count():
    counts = _parallel_hits("parallel", 16)
    assert sorted(counts) == list(range(1, 17))
    assert ThrottleCounter.objects.get(key="parallel").hits == 16


def test_parallel_hits_on_redis_each_get_their_own_count_and_the_window_expires(redis_throttle):
    import redis

    counts = _parallel_hits("parallel", 16)
    assert sorted(counts) == list(range(1, 17))
    ttl = redis.Redis.from_url(redis_throttle).ttl("throttle:parallel")
    assert 0 < ttl <= 60
    throttle.reset("parallel")
    assert throttle.peek("parallel") == 0
    assert throttle.hit("parallel", 60) == 1
