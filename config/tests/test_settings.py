import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _django_check(**env):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "S3_", "DATABASE_URL"))}
    full.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )


def test_production_start_with_the_dev_secret_key_fails_clearly():
    result = _django_check(DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="photos.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_start_with_a_real_key_works():
    result = _django_check(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 60 + "-real-key", DJANGO_ALLOWED_HOSTS="photos.example.com"
    )
    assert result.returncode == 0, result.stderr


def test_an_s3_variable_without_a_bucket_is_refused():
    result = _django_check(S3_ENDPOINT_URL="http://127.0.0.1:9")
    assert result.returncode != 0
    assert "S3_BUCKET is empty" in result.stderr


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db, settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000


def test_queue_retry_outlasts_the_timeout(settings):
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]
    assert 1 <= settings.Q_CLUSTER["max_attempts"] <= 10


def test_a_cdn_domain_without_signing_keys_is_refused():
    result = _django_check(S3_BUCKET="media", S3_CUSTOM_DOMAIN="cdn.example.com")
    assert result.returncode != 0
    assert "S3_CLOUDFRONT_KEY_ID" in result.stderr
