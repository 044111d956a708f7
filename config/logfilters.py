"""Logging filters. Share-link tokens are secrets, and Django logs request paths on 4xx/5xx."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_PATH = re.compile(r"/s/[A-Za-z0-9_\-]{8,}")
_TOKEN_IN_API = re.compile(r"/api/v1/shared/[A-Za-z0-9_\-]{8,}")


def redact(text: str) -> str:
    text = _TOKEN_IN_PATH.sub("/s/[token]", text)
    return _TOKEN_IN_API.sub("/api/v1/shared/[token]", text)


class RedactShareTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


# --- Ordinary refusals (issue 10): the request log keeps what an operator must read ---------------

# Answers that share links and the API give clients as a matter of course: bad input, no or wrong
# credentials, not allowed, unknown or closed link, conflicts, expired, unsupported type, checksum
# mismatch. Django logs every 4xx as a WARNING; these go to DEBUG. Server errors, and refusals an
# operator may have to act on (413: a limit set too low; 429: throttling, or an attack), stay.
ORDINARY_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 410, 412, 415, 416, 422})
ORDINARY_PATHS = ("/s/", "/api/")


class LowerOrdinaryRefusals(logging.Filter):
    """On django.request: ordinary 4xx answers on share-link and API paths become DEBUG records."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", "")
        if getattr(record, "status_code", None) not in ORDINARY_STATUSES or not path.startswith(ORDINARY_PATHS):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        # The logger let the record in at WARNING; it is kept only if the logger also wants DEBUG.
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
