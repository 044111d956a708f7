"""Content-Security-Policy pieces that depend on the deployment: where media may come from."""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# Directives that name where media (images, video, their downloads) may be loaded from.
MEDIA_DIRECTIVES = ("img-src", "media-src", "connect-src")


def media_origins(*, endpoint_url: str, custom_domain: str, region: str) -> list[str]:
    """Origins that serve media besides our own: the S3 endpoint (path-style presigned URLs) and a
    CDN domain. Our own signed view serves media on local storage, so then there are none."""
    origins = []
    if custom_domain:
        origins.append(f"https://{custom_domain}")
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    else:
        # AWS itself: botocore's path-style URLs use the global or the regional name.
        origins += ["https://s3.amazonaws.com", f"https://s3.{region}.amazonaws.com"]
    return origins


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, plus the S3 origins media comes from when S3 is configured.

    They are read from the settings on each response rather than written into
    CONTENT_SECURITY_POLICY once, so the policy always follows the storage actually in use.
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if settings.USE_S3:
            origins = media_origins(
                endpoint_url=settings.S3_ENDPOINT_URL,
                custom_domain=settings.S3_CUSTOM_DOMAIN,
                region=settings.S3_REGION,
            )
            parts.update = {**dict.fromkeys(MEDIA_DIRECTIVES, origins), **(parts.update or {})}
        return parts
