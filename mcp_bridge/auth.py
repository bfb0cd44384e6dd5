"""Bearer-token authentication of MCP clients against the app's credentials snapshot.

The app publishes the sha256 of every active agent token with its scopes; the bridge hashes
the presented token and looks it up, so no secret is stored on the bridge. The caller found
is put in a context variable for the tools (scope checks) and the tool-call log.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE_READ = "sop:read"
SCOPE_PROPOSE = "sop:propose"
SCOPE_REPORT = "sop:report"

SESSION_HEADERS = (b"mcp-session-id", b"x-amzn-bedrock-agentcore-runtime-session-id")
"""Headers that name the conversation when a tool call gives no ``routing_key``: the MCP
session id, and the session id AgentCore Runtime passes to the container."""


@dataclass(frozen=True)
class Caller:
    """An authenticated MCP client: its token id and name, scopes, and the raw token (kept in
    memory only for the request, to forward proposals to the app under the agent's identity)."""

    token_id: int | None
    name: str
    scopes: frozenset[str]
    raw_token: str = ""

    def has(self, scope: str) -> bool:
        """Return whether the caller's token carries ``scope``."""
        return scope in self.scopes


current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("current_caller", default=None)
session_routing_key: contextvars.ContextVar[str] = contextvars.ContextVar("session_routing_key", default="")


class Credentials:
    """Active token hashes → callers, replaced whole when the app's snapshot changes."""

    def __init__(self, snapshot: dict[str, Any] | None = None) -> None:
        self.by_hash: dict[str, tuple[int | None, str, frozenset[str]]] = {}
        for entry in (snapshot or {}).get("tokens", []):
            self.by_hash[entry["sha256"]] = (entry.get("id"), entry["name"], frozenset(entry.get("scopes", [])))

    def authenticate(self, raw_token: str) -> Caller | None:
        """Return the caller for ``raw_token``, or ``None`` if it is unknown or revoked."""
        found = self.by_hash.get(hashlib.sha256(raw_token.encode("utf-8")).hexdigest())
        if found is None:
            return None
        token_id, name, scopes = found
        return Caller(token_id, name, scopes, raw_token)


def _unauthorized(detail: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": detail}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"www-authenticate", b'Bearer realm="sopgov", error="invalid_token"'),
        (b"content-length", str(len(body)).encode()),
    ]
    return body, headers


class PlatformAuthMiddleware:
    """ASGI middleware for bridges behind a platform that authenticates callers itself
    (AgentCore Runtime's IAM/SigV4 or JWT authorizer): every request is the platform's caller,
    who may read SOPs and report outcomes; proposals need a sopgov agent token and are refused."""

    CALLER = Caller(None, "platform", frozenset({SCOPE_READ, SCOPE_REPORT}))

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = next((value for name, value in scope["headers"] if name in SESSION_HEADERS), b"")
        token = current_caller.set(self.CALLER)
        session_token = session_routing_key.set(session.decode("latin-1")[:200])
        try:
            await self.app(scope, receive, send)
        finally:
            session_routing_key.reset(session_token)
            current_caller.reset(token)


class BearerAuthMiddleware:
    """ASGI middleware: 401 unless ``Authorization: Bearer <token>`` names an active agent token."""

    def __init__(self, app: ASGIApp, credentials: Any) -> None:
        self.app = app
        self.credentials = credentials  # an object with a ``.current`` ``Credentials``

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = b""
        session = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
            elif name in SESSION_HEADERS and not session:
                session = value
        caller = None
        if header[:7].lower() == b"bearer ":
            caller = self.credentials.current.authenticate(header[7:].strip().decode("latin-1"))
        if caller is None:
            detail = "Missing bearer token." if not header else "Unknown or revoked bearer token."
            body, headers = _unauthorized(detail + " Send 'Authorization: Bearer <agent token>'.")
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        token = current_caller.set(caller)
        session_token = session_routing_key.set(session.decode("latin-1")[:200])
        try:
            await self.app(scope, receive, send)
        finally:
            session_routing_key.reset(session_token)
            current_caller.reset(token)
