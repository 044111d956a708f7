"""The one answer to "which address is this client?", asked by every throttle and lockout.

`REMOTE_ADDR` is the peer of the socket: the client itself, or the nearest proxy. Anyone can
write anything into `X-Forwarded-For`, so it is read only when the deployment declares how many
reverse proxies it trusts (`TRUSTED_PROXY_COUNT`). Each trusted proxy appends the address it saw
to the right of the header, so with n trusted proxies the client is the n-th entry from the
right; whatever stands further left was written by the client and is never believed.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    """The address normalised (IPv6 compressed, IPv4-mapped unwrapped), or None if it is not one."""
    text = address.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:443": a few proxies add the port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the entry the outermost trusted proxy wrote."""
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return _valid(remote) or remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if not hops:
        # The proxies did not say (misconfigured, or a request that went around them).
        return _valid(remote) or remote
    # Fewer entries than trusted proxies: the request entered behind the outermost one, so the
    # leftmost entry is still one a trusted proxy wrote.
    chosen = hops[-trusted] if len(hops) >= trusted else hops[0]
    return _valid(chosen) or _valid(remote) or remote
