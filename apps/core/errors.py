"""The application's error hierarchy, mapped once to HTTP (``apps.core.api``) and MCP replies.

Services raise these; views, the API and the bridge endpoints translate them. Each error
carries a stable machine-readable ``code`` and a message written for the person who hit it.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """Base of every error a service raises on purpose.

    Attributes:
        message: text for the user, saying what happened and what to do.
        code: stable identifier for clients (``"invalid_transition"``, ...).
        http_status: status the API answers with.
        extra: JSON-serialisable details for clients (e.g. the current state).
    """

    code = "application_error"
    http_status = 400

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class InvalidInput(ApplicationError):
    """The request's data is malformed or breaks a rule (HTTP 400)."""

    code = "invalid_input"
    http_status = 400

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, extra={"fields": field_errors or {}})
        self.field_errors = field_errors or {}


class PermissionDenied(ApplicationError):
    """The actor's role does not allow the action (HTTP 403)."""

    code = "permission_denied"
    http_status = 403


class SelfApprovalForbidden(PermissionDenied):
    """An author tried to approve or reject their own version (HTTP 403)."""

    code = "self_approval_forbidden"


class NotFound(ApplicationError):
    """The object named does not exist (HTTP 404)."""

    code = "not_found"
    http_status = 404


class InvalidTransition(ApplicationError):
    """The object's current state does not allow the action (HTTP 409)."""

    code = "invalid_transition"
    http_status = 409


class AlreadyReviewed(InvalidTransition):
    """The reviewer already recorded a decision on this version (HTTP 409)."""

    code = "already_reviewed"


class EditConflict(ApplicationError):
    """Someone else saved the draft since the editor loaded it (HTTP 409)."""

    code = "edit_conflict"
    http_status = 409


class Conflict(ApplicationError):
    """The write would break a uniqueness rule, e.g. an SOP key already taken (HTTP 409)."""

    code = "conflict"
    http_status = 409
