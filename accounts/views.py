from __future__ import annotations

import re

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from accounts.models import Brand
from accounts.services import logo_key

_LOGO_NAME = re.compile(r"[0-9a-f]{64}\.webp")
LOGO_MAX_AGE = 60 * 60 * 24 * 365


@require_safe
def brand_logo(request: HttpRequest, name: str) -> FileResponse:
    """A studio's logo, public like the header it sits in (the password page shows it too).

    Named by the SHA-256 of its bytes, so it can be cached for good; served only while a brand
    still shows it, so a replaced logo's address stops working even before its file is deleted.
    """
    if not _LOGO_NAME.fullmatch(name):
        raise Http404("No such logo.")
    key = logo_key(name.removesuffix(".webp"))
    if not Brand.objects.filter(logo_key=key).exists():
        raise Http404("No such logo.")
    try:
        handle = default_storage.open(key, "rb")
    except FileNotFoundError:
        raise Http404("No such logo.") from None
    response = FileResponse(handle, content_type="image/webp")
    response["Cache-Control"] = f"public, max-age={LOGO_MAX_AGE}, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
