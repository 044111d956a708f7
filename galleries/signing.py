"""Signed, expiring media URLs: pure functions (no request, no models).

Expiry times are rounded to a window so the same URL is handed out for a while and browsers can
cache the bytes; a URL is never valid for longer than the TTL.
"""

from __future__ import annotations

import hashlib
import hmac
import math


def window_for(ttl: int) -> int:
    """The rounding step: a quarter of the TTL, at least one second."""
    return max(1, ttl // 4)


def expiry_for(now: float, ttl: int) -> int:
    """An expiry between ttl - window and ttl seconds from now, equal for every now in one window."""
    window = window_for(ttl)
    return int(math.floor(now / window) * window) + ttl


def signature(secret: bytes, key: str, expires: int, download_name: str = "", extra: str = "") -> str:
    """extra binds the URL to more than its key (a share link, a cleaned original)."""
    message = f"{key}\n{expires}\n{download_name}" + (f"\n{extra}" if extra else "")
    message = message.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:43]


def check(secret: bytes, key: str, expires: int, download_name: str, sig: str, *, now: float, extra: str = "") -> bool:
    """True when sig signs exactly these values and the expiry has not passed."""
    expected = signature(secret, key, expires, download_name, extra)
    return hmac.compare_digest(expected, sig) and expires > now
