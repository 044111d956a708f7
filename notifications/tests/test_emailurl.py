"""EMAIL_URL parsing, on its own and as settings.py applies it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.emailurl import CONSOLE_BACKEND, LOCMEM_BACKEND, SMTP_BACKEND, parse_email_url

ROOT = Path(__file__).resolve().parents[2]


def test_smtp_with_a_percent_encoded_user_and_password():
    assert parse_email_url("smtp://mailer%40example.com:p%40ss%3Aw%2Ford@mail.example.com:2525") == {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "mailer@example.com",
        "EMAIL_HOST_PASSWORD": "p@ss:w/ord",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
    }


@pytest.mark.parametrize(
    ("url", "port", "tls", "ssl"),
    [
        ("smtp://mail.example.com", 25, False, False),
        ("smtp+tls://u:p@mail.example.com", 587, True, False),
        ("SMTP+TLS://u:p@mail.example.com:2587/", 2587, True, False),
        ("smtps://u:p@mail.example.com", 465, False, True),
        ("smtp://[::1]:1025", 1025, False, False),
    ],
)
def test_each_scheme_has_its_port_and_encryption(url, port, tls, ssl):
    parsed = parse_email_url(url)
    assert (parsed["EMAIL_PORT"], parsed["EMAIL_USE_TLS"], parsed["EMAIL_USE_SSL"]) == (port, tls, ssl)
    assert parsed["EMAIL_BACKEND"] == SMTP_BACKEND


def test_console_and_locmem():
    assert parse_email_url("console://") == {"EMAIL_BACKEND": CONSOLE_BACKEND}
    assert parse_email_url("locmem://") == {"EMAIL_BACKEND": LOCMEM_BACKEND}


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mail.example.com", "must start with smtp://"),
        ("http://mail.example.com", "not http://"),
        ("smtp://", "no mail server host"),
        ("smtp://user:secret@:25", "no mail server host"),
        ("smtp://mail.example.com:99999", "not a number between 1 and 65535"),
        ("smtp://user:secret@mail.example.com:25:26", "not a number between 1 and 65535"),
        ("smtp://mail.example.com:0", "port 0"),
        ("smtp://user:se/cret@mail.example.com", "percent-encode a password"),
        ("smtp://mail.example.com/inbox", "no path or options"),
        ("smtp://mail.example.com?timeout=5", "no path or options"),
    ],
)
def test_a_bad_url_is_refused_with_a_sentence_that_never_shows_the_password(url, says):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL") as refused:
        parse_email_url(url)
    assert says in str(refused.value)
    assert "secret" not in str(refused.value) and "cret" not in str(refused.value)


def _settings_in_a_new_process(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER, "
        "settings.EMAIL_USE_SSL, settings.EMAIL_TIMEOUT, settings.SITE_URL, sep='|')"
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("EMAIL_URL", "SITE_URL")}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def test_settings_read_email_url_and_default_to_the_console():
    default = _settings_in_a_new_process()
    assert default.returncode == 0, default.stderr
    assert default.stdout.strip().split("|")[0] == CONSOLE_BACKEND
    assert default.stdout.strip().split("|")[-1] == "http://127.0.0.1:8000"
    configured = _settings_in_a_new_process(
        EMAIL_URL="smtps://studio:pw@mail.example.com", SITE_URL="https://x.example/"
    )
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.strip() == f"{SMTP_BACKEND}|mail.example.com|465|studio|True|10|https://x.example"


def test_settings_refuse_a_bad_email_url_at_start():
    refused = _settings_in_a_new_process(EMAIL_URL="smtp://mail.example.com:port")
    assert refused.returncode != 0
    assert "ImproperlyConfigured: EMAIL_URL has a port that is not a number" in refused.stderr
