"""config.clientip: REMOTE_ADDR unless proxies are declared; then the n-th X-Forwarded-For entry from the right."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from config.clientip import client_ip


def _request(remote: str = "192.0.2.10", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request(forwarded="203.0.113.9")) == "192.0.2.10"


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the client wrote the left entry
        (2, "198.51.100.1, 203.0.113.9, 192.0.2.50", "203.0.113.9"),
        (2, "203.0.113.9", "203.0.113.9"),  # came in behind the outer proxy
        (1, "", "192.0.2.10"),  # proxy did not say: the peer
        (1, "not-an-address", "192.0.2.10"),
        (1, "203.0.113.9:51234", "203.0.113.9"),
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_with_trusted_proxies_the_entry_the_outermost_one_wrote_counts(settings, trusted, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    assert client_ip(_request(forwarded=forwarded)) == expected
