"""Domain errors raised by services of every app; every door maps them to its own way of saying no.

Here, in config, because every app raises them and every app may depend on config (the API's
exception handler in config/api.py, the pages' answers in each app's views). Pure module: no
request, no models, so it can be raised from pure helpers too.
"""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidInput(ServiceError):
    status_code = 400
    code = "invalid"


class Unauthorized(ServiceError):
    status_code = 401
    code = "not_authenticated"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class Gone(ServiceError):
    status_code = 410
    code = "gone"


class TooLarge(ServiceError):
    status_code = 413
    code = "too_large"


class UnsupportedType(ServiceError):
    status_code = 415
    code = "unsupported_type"


class ContentMismatch(ServiceError):
    status_code = 422
    code = "mismatch"


class TooManyRequests(ServiceError):
    status_code = 429
    code = "throttled"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after  # seconds, sent as Retry-After
