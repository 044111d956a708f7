"""Gzip for the pages clients see (issue 13: a gallery page was 56 KB uncompressed).

BREACH: an attacker who can make a victim's browser send requests, and can put text of their choice
into the responses, can learn a secret on the same page from the compressed sizes. So pages are
compressed only where no attacker's text sits beside a secret:

- The admin (/admin/) is never compressed: its lists reflect the search box (?q=) on the same page
  as share-link tokens and signed media addresses. Neither are the API (/api/: tokens, echoed
  input in errors), sign-in (/accounts/: the username is echoed) and media (already compressed).
- Gallery, photo and shared pages reflect nothing a visitor types: the layout and page number are
  parsed into fixed values, the password form never echoes the password and its errors are fixed
  text. The one secret on every page, the CSRF token (hx-headers on <body>), is masked afresh for
  every response by Django, so it never repeats across responses for a guess to match.
- Django's GZipMiddleware also pads each response's gzip header by a random length (Heal The
  BREACH), which blurs size measurements further.

Static files are not this middleware's: WhiteNoise serves them precompressed (CompressedManifestStaticFilesStorage).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

NEVER_COMPRESSED = ("/admin/", "/api/", "/accounts/", "/media/")


class PageCompressionMiddleware(GZipMiddleware):
    """GZipMiddleware for HTML pages outside NEVER_COMPRESSED (see the module's note on BREACH)."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if request.path.startswith(NEVER_COMPRESSED):
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
