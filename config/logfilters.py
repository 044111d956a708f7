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
