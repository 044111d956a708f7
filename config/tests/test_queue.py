"""config/queue.py: enqueueing a task on the embedded broker keeps the process's database connection."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

from config.queue import OrmBroker


@pytest.fixture
def queued(monkeypatch):
    """Tasks go to the broker (not run in-process as elsewhere in the tests)."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "BROKER_CLASS", "config.queue.OrmBroker")
    monkeypatch.setattr(Conf, "ORM", "default")


def test_without_redis_the_settings_use_this_broker():
    if settings.Q_CLUSTER.get("redis"):
        pytest.skip("REDIS_URL is set: django-q2's Redis broker")
    assert settings.Q_CLUSTER["broker_class"] == "config.queue.OrmBroker"
    assert isinstance(get_broker(), OrmBroker)


@pytest.mark.django_db(transaction=True)
def test_enqueueing_keeps_the_connection_and_the_cluster_gets_the_task(queued):
    connection.ensure_connection()
    before = connection.connection
    task_id = async_task("math.floor", 2.5)
    assert connection.connection is before  # not closed and reopened for the enqueue
    assert OrmQ.objects.count() == 1
    broker = get_broker()
    (_, payload), *rest = broker.dequeue()
    assert not rest
    from django_q.signing import SignedPackage

    task = SignedPackage.loads(payload)
    assert (task["id"], task["func"], task["args"]) == (task_id, "math.floor", (2.5,))


@pytest.mark.django_db(transaction=True)
def test_django_q2s_own_broker_would_have_reconnected(queued, monkeypatch, settings):
    """What the broker avoids, shown on django-q2's own (SQLite: CONN_MAX_AGE 0, so the reset closes)."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its connection for DB_CONN_MAX_AGE")
    monkeypatch.setattr(Conf, "BROKER_CLASS", "django_q.brokers.orm.ORM")
    connection.ensure_connection()
    before = connection.connection
    assert isinstance(get_broker(), ORM)
    async_task("math.floor", 2.5)
    assert connection.connection is not before
