"""EMAIL_URL -> Django's EMAIL_* settings. Pure parsing: no Django setup needed, so settings.py can use it."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# scheme -> (default port, STARTTLS, implicit SSL)
_SMTP_SCHEMES = {
    "smtp": (25, False, False),
    "smtp+tls": (587, True, False),
    "smtps": (465, False, True),
}
_OTHER_BACKENDS = {"console": CONSOLE_BACKEND, "locmem": LOCMEM_BACKEND}
_EXAMPLES = "smtp://user:password@mail.example.com:587, smtp+tls://…, smtps://…, console:// or locmem://"


def parse_email_url(url: str) -> dict[str, Any]:
    """The EMAIL_* settings an EMAIL_URL stands for.

    smtp:// talks plain SMTP (port 25), smtp+tls:// upgrades with STARTTLS (587), smtps:// is TLS
    from the first byte (465). User and password are percent-decoded, so a password may hold any
    character (write @ as %40, : as %3A, / as %2F). Messages never repeat the password.
    """
    raw = url.strip()
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme in _OTHER_BACKENDS:
        return {"EMAIL_BACKEND": _OTHER_BACKENDS[scheme]}
    if scheme not in _SMTP_SCHEMES:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtp+tls://, smtps://, console:// or locmem://, "
            f"not {scheme + '://' if scheme else repr(raw[:20])} (e.g. {_EXAMPLES})."
        )
    parts = urlsplit(raw)
    default_port, use_tls, use_ssl = _SMTP_SCHEMES[scheme]
    if not parts.hostname:
        raise ImproperlyConfigured(f"EMAIL_URL names no mail server host (e.g. {_EXAMPLES}).")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(
            "EMAIL_URL has a port that is not a number between 1 and 65535 (percent-encode a password "
            "that holds ':', '@' or '/')."
        ) from None
    if port == 0:
        raise ImproperlyConfigured("EMAIL_URL has port 0; give the mail server's port, e.g. 587.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            "EMAIL_URL takes no path or options after the host and port (percent-encode a password that "
            "holds '/', '?' or '#')."
        )
    return {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or default_port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }
