"""OpenAPI schema additions: the error responses every operation can give, written down once.

drf-spectacular documents each operation's success responses from its serializers; the error
statuses come from shared machinery (authentication, permissions, ``apps.core.api``'s exception
mapping, throttles, the body-size limit) and were missing from the schema until schemathesis
reported them (``tests/core/test_api_fuzz.py``). This postprocessing hook (drf-spectacular's
``POSTPROCESSING_HOOKS``, see its "Customization" docs) adds them, all with one ``Error`` body.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error answer: a stable code, a sentence for people, and sometimes more.",
    "properties": {
        "error": {"type": "string", "description": "stable machine-readable code, e.g. invalid_input"},
        "detail": {"type": "string", "description": "what happened and what to do, for people"},
        "fields": {
            "type": "object",
            "description": "invalid_input only: messages per field of the request",
            "additionalProperties": True,
        },
    },
    "required": ["error", "detail"],
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    "400": "The request is invalid (body, query or a rule it breaks); `fields` says where.",
    "401": "No valid credentials: sign in, or send `Authorization: Token …` / `Bearer sgv_…`.",
    "403": "The credentials' role or scopes do not allow this.",
    "404": "Nothing with this id, or not visible to you.",
    "409": "The object's state does not allow this now (e.g. already reviewed, edited meanwhile).",
    "413": "The request body is over the size limit; nothing was saved.",
    "415": "The request body's media type is not accepted (send JSON).",
    "429": "Too many requests (rate limit or lockout); retry after the `Retry-After` seconds.",
}

# Operations throttled or locked out beyond the per-token limits of every write.
_RATE_LIMITED_WRITES = {"post"}


def _error_response(status: str) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses ``method path`` can answer with, from what the operation declares.

    Args:
        path: the OpenAPI path template, e.g. ``/api/v1/versions/{id}/approve/``.
        method: lower-case HTTP method.
        operation: the operation object drf-spectacular generated.

    Returns:
        status codes as strings, e.g. ``["400", "401", "403", "404"]``.
    """
    statuses = ["400"]  # query filters and bodies are both validated
    if operation.get("security") != [{}]:
        statuses += ["401", "403"]
    if "{" in path or "requestBody" in operation:  # the object in the path, or one the body names
        statuses.append("404")
    if "requestBody" in operation:
        statuses += ["409", "413", "415"]
    if method in _RATE_LIMITED_WRITES:
        statuses.append("429")
    return statuses


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the ``Error`` component and, to each operation,
    the error responses :func:`error_statuses` names (a response already declared is kept)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status in error_statuses(path, method, operation):
                operation["responses"].setdefault(status, _error_response(status))
    return result
