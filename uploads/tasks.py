"""Background jobs for uploads."""

from __future__ import annotations

from uploads.services import uploads_expire


def expire_uploads() -> int:
    """Expire open uploads past UPLOAD_EXPIRY and remove their bytes (a step of the lifecycle sweep)."""
    return uploads_expire()
