"""API-wide pieces: the exception handler and the shapes of error responses in the schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.views import exception_handler as drf_exception_handler

from config.exceptions import ServiceError


def exception_handler(exc: Exception, context: dict[str, Any]):
    """DRF's handler, plus domain errors raised by services mapped to their HTTP status."""
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(exc, ServiceError):
        api_exc = APIException(detail=exc.message, code=exc.code)
        api_exc.status_code = exc.status_code
        exc = api_exc
    response = drf_exception_handler(exc, context)
    if response is not None and retry_after and isinstance(retry_after, int):
        response["Retry-After"] = str(retry_after)
    return response


# Security for operations anyone may call: a knox token, a session, or no credentials at all
# (drf-spectacular names knox's scheme "knoxApiToken" and the session cookie "cookieAuth").
ANYONE: list[dict] = [{"knoxApiToken": []}, {"cookieAuth": []}, {}]


def query_flag(request: Request, name: str) -> bool:
    """A true/false query parameter (true, false, 1, 0, yes, no…); absent is false, anything else a 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return False
    try:
        return serializers.BooleanField().to_internal_value(raw)
    except ValidationError:
        raise ValidationError({name: ["Must be true or false."]}) from None


ErrorSerializer = inline_serializer("Error", fields={"detail": serializers.CharField()})
ValidationErrorSerializer = inline_serializer(
    "ValidationError",
    fields={"field_name": serializers.ListField(child=serializers.CharField(), required=False)},
)

_DESCRIPTIONS = {
    400: "Bad input: the body names each field that is wrong and why.",
    401: "No credentials, or an expired or revoked token.",
    403: "Authenticated, but not allowed to do this.",
    404: "Unknown, or not yours.",
    409: "Conflict with the current state.",
    410: "Gone: expired.",
    413: "Too large.",
    415: "Unsupported file type.",
    422: "Checksum or content mismatch.",
    429: "Too many requests; retry later.",
    503: "A dependency is down.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error responses an endpoint can give."""
    return {
        code: OpenApiResponse(
            response=ValidationErrorSerializer if code == 400 else ErrorSerializer,
            description=_DESCRIPTIONS[code],
        )
        for code in codes
    }
