"""The current request's id, readable from services without passing the request around."""

from __future__ import annotations

import contextvars
import re
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(incoming: str | None = None) -> str:
    """Return ``incoming`` when it is a safe id (≤ 64 chars of ``[A-Za-z0-9._:-]``), else a uuid4 hex."""
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def set_request_id(value: str) -> contextvars.Token[str]:
    """Make ``value`` the current request id; return the token to reset it."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str]) -> None:
    """Restore the request id that was current before ``set_request_id``."""
    _request_id.reset(token)


def current_request_id() -> str:
    """Return the current request id, or ``""`` outside a request (commands, tasks)."""
    return _request_id.get()
