"""The Idempotency-Key header in the OpenAPI schema: a drf-spectacular postprocessing hook that adds it
(and the answers it can give) to every POST operation, since the middleware serves every POST."""

from __future__ import annotations

from typing import Any

from integrations.idempotency import HEADER, MAX_KEY_LENGTH

PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": f"^[ -~]{{1,{MAX_KEY_LENGTH}}}$",
    },
    "description": (
        "Makes a retried POST safe: the same key with the same request returns the first successful answer "
        "(with `Idempotent-Replayed: true`) without doing the work again. Keys are per user (or per client "
        "address when anonymous) and kept 24 hours; 1-255 printable ASCII characters, a UUID is a good key."
    ),
}

_ERROR = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
RESPONSES = {
    "400": "Bad input; with an Idempotency-Key: the key is empty, longer than 255 characters or has control characters.",
    "409": "Conflict; with an Idempotency-Key: a request with this key is still being processed (retry after Retry-After).",
    "422": "Mismatch; with an Idempotency-Key: the key was already used for another request (another path or body).",
}


def add_idempotency_key(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    for path, operations in result.get("paths", {}).items():
        operation = operations.get("post")
        if operation is None or not path.startswith("/api/v1/"):
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == HEADER for p in parameters):
            # Inline, like every other parameter of the schema (readers look parameters up by name).
            parameters.append(dict(PARAMETER))
        responses = operation.setdefault("responses", {})
        for code, description in RESPONSES.items():
            responses.setdefault(
                code, {"description": description, "content": {"application/json": {"schema": _ERROR}}}
            )
    return result
