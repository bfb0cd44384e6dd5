"""Bearer-token authentication of MCP clients against the app's credentials snapshot.

The app publishes the sha256 of every active agent token with its scopes; the bridge hashes
the presented token and looks it up, so no secret is stored on the bridge. The caller found
is put in a context variable for the tools (scope checks) and the tool-call log.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

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
    source: str = "agent_token"  # or "oauth": an identity provider's access token

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


def _unauthorized(detail: str, metadata_url: str = "") -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": detail}}).encode()
    challenge = 'Bearer realm="sopgov", error="invalid_token"'
    if metadata_url:  # RFC 9728 §5.1: where a client finds the authorization server
        challenge += f', resource_metadata="{metadata_url}"'
    headers = [
        (b"content-type", b"application/json"),
        (b"www-authenticate", challenge.encode()),
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
    """ASGI middleware: 401 unless ``Authorization: Bearer <token>`` names an active agent token
    or, with ``verifier`` (``oauth.JwtVerifier``), is a valid access token of the issuer."""

    def __init__(self, app: ASGIApp, credentials: Any, verifier: Any = None) -> None:
        self.app = app
        self.credentials = credentials  # an object with a ``.current`` ``Credentials``
        self.verifier = verifier
        self.metadata_url = ""
        if verifier is not None:
            from .oauth import metadata_url

            self.metadata_url = metadata_url(verifier.settings)

    async def _oauth_caller(self, raw: str) -> Caller | None:
        from .oauth import InvalidAccessToken, looks_like_jwt

        if self.verifier is None or not looks_like_jwt(raw):
            return None
        try:
            name, scopes = await anyio.to_thread.run_sync(self.verifier.verify, raw)
        except InvalidAccessToken as exc:
            logger.info("access token refused: %s", exc)
            return None
        return Caller(None, name, scopes, source="oauth")

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
            raw = header[7:].strip().decode("latin-1")
            caller = self.credentials.current.authenticate(raw) or await self._oauth_caller(raw)
        if caller is None:
            detail = "Missing bearer token." if not header else "Unknown, revoked or invalid bearer token."
            body, headers = _unauthorized(detail + " Send 'Authorization: Bearer <agent token>'.", self.metadata_url)
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


def conversation_key(routing_key: str | None) -> str | None:
    """The conversation's routing key: the tool's ``routing_key`` argument, else the session
    header of this request (``session_routing_key``), else ``None`` (served the stable version)."""
    return routing_key if routing_key is not None else (session_routing_key.get() or None)
