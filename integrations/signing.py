"""Standard Webhooks signatures (https://www.standardwebhooks.com/): pure functions, no models.

A secret is "whsec_" + base64 of 32 random bytes. A delivery carries three headers: webhook-id
(the message id), webhook-timestamp (Unix seconds) and webhook-signature, which is
"v1,<base64 HMAC-SHA256 of '<id>.<timestamp>.<body>'>" for each secret in use, space-separated
(two while a rotated secret's grace lasts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """One "v1,<base64>" signature of id.timestamp.body."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secrets_in_use: list[str], *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three webhook-* headers of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_in_use
        ),
    }
