"""Sending a webhook without letting its URL reach inside our network (SSRF): pure, no models.

An endpoint's URL is checked when it is saved and again at every send: its host is resolved and
every address must be public (not loopback, private, link-local, multicast, reserved, shared or
unspecified, IPv4 hidden in IPv6 included). The connection then goes to one of the addresses that
were checked (pinned), never to a second lookup an attacker's DNS could answer differently
(rebinding). Redirects are never followed. allow_private switches the address rule off, for tests
and a receiver on the same machine (WEBHOOKS_ALLOW_PRIVATE).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "ContactSheet-Webhooks/1.0"
MAX_RESPONSE_READ = 64 * 1024
TOTAL_TIMEOUT_FACTOR = 3  # the whole exchange may take at most this many times the timeout


class Refused(Exception):
    """The URL may not be called (scheme, host or address); never worth retrying."""


class Unreachable(Exception):
    """The host could not be resolved or reached; worth retrying later."""


@dataclass
class Answer:
    status: int
    ms: int
    excerpt: str
    location: str = ""


def check_url(url: str, *, allow_http: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL a webhook may use, or Refused saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"The URL is not valid: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_http):
        raise Refused("The URL must start with https://.")
    if parts.username or parts.password:
        raise Refused("The URL must not carry a user name or password; receivers check the signature instead.")
    host = parts.hostname
    if not host:
        raise Refused("The URL has no host name.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (Unreachable if none)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unreachable(f"Could not resolve the host {host!r}: {getattr(exc, 'strerror', None) or exc}.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise Unreachable(f"The host {host!r} has no address.")
    return addresses


def is_public(address: str) -> bool:
    """Whether an address is one the public internet routes (nothing of ours, nothing special)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if any(inner is not None and not is_public(str(inner)) for inner in embedded):
            return False
    special = [ip.is_multicast, ip.is_private, ip.is_loopback, ip.is_link_local, ip.is_reserved, ip.is_unspecified]
    if isinstance(ip, ipaddress.IPv6Address):
        special.append(ip.is_site_local)
    return ip.is_global and not any(special)


def allowed_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The host's addresses, all of them checked; Refused if any is not public (unless allowed)."""
    addresses = resolve(host, port)
    if not allow_private:
        bad = [a for a in addresses if not is_public(a)]
        if bad:
            raise Refused(
                f"The host {host!r} resolves to {', '.join(bad)}, which is not a public address; "
                "webhooks are only sent to the public internet."
            )
    return addresses


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool, allow_http: bool
) -> Answer:
    """POST the body to the URL through a checked, pinned address; the answer, redirects not followed.

    Raises Refused (the URL or its addresses are not allowed) or Unreachable (DNS, connection,
    timeout, TLS: worth trying again).
    """
    scheme, host, port = check_url(url, allow_http=allow_http)
    addresses = allowed_addresses(host, port, allow_private=allow_private)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def connect_pinned(
        address: tuple, timeout: float | None = None, source_address: tuple | None = None
    ) -> socket.socket:
        # The Host header and TLS (SNI, certificate) use the name; the socket goes to a checked address.
        last: OSError | None = None
        for ip in addresses:
            try:
                return socket.create_connection((ip, port), timeout, source_address)
            except OSError as exc:
                last = exc
        raise last or OSError("no address to connect to")

    conn._create_connection = connect_pinned  # type: ignore[attr-defined]
    # `timeout` bounds each wait; this bounds the whole exchange, so a receiver that answers one
    # byte at a time cannot hold a worker: the socket is shut when the time is up.
    total = timeout * TOTAL_TIMEOUT_FACTOR
    aborted = threading.Event()

    def abort() -> None:
        aborted.set()
        if conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(total, abort)
    watchdog.daemon = True
    watchdog.start()
    started = time.monotonic()
    try:
        conn.request(
            "POST",
            target,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = conn.getresponse()
        data = response.read(MAX_RESPONSE_READ)
        if aborted.is_set():  # what arrived before the cut may look whole; it does not count
            raise Unreachable(f"The exchange took longer than {total:g} s; it was cut off.")
        ms = int((time.monotonic() - started) * 1000)
        return Answer(
            status=response.status,
            ms=ms,
            excerpt=data[:500].decode("utf-8", "replace"),
            location=response.getheader("Location", "") or "",
        )
    except (OSError, http.client.HTTPException) as exc:
        if aborted.is_set():
            raise Unreachable(f"The exchange took longer than {total:g} s; it was cut off.") from None
        if isinstance(exc, TimeoutError):
            raise Unreachable(f"No answer within {timeout:g} s.") from None
        if isinstance(exc, ssl.SSLError):
            raise Unreachable(f"TLS failed: {exc.reason or exc}.") from None
        raise Unreachable(f"Could not connect: {type(exc).__name__}: {exc}.") from None
    finally:
        watchdog.cancel()
        conn.close()
