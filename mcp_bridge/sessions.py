"""Stateful MCP sessions and the change notifications they receive (``SOPGOV_BRIDGE_SESSIONS=1``).

The bridge is stateless by default: every POST to ``/mcp`` stands alone. With sessions on, a
client that sends ``initialize`` gets an ``Mcp-Session-Id`` (MCP 2025-11-25, "Streamable HTTP ›
Session Management"), may open the GET stream for server messages, and is sent

- ``notifications/resources/list_changed`` whenever the bundle served changes (a publish,
  rollback, retire or rollout step), and
- ``notifications/resources/updated`` for each ``sop://`` URI it subscribed to
  (``resources/subscribe``) whose served content changed.

Requests without a session id that are not ``initialize`` stay stateless, so the seed's clients
and one-shot callers work as before. Sessions are bounded: closed after
``SOPGOV_BRIDGE_SESSION_IDLE_SECONDS`` without a request or an open stream, at most
``MAX_SESSIONS`` at once.

A session lives in the process that created it, so a bridge with sessions runs one worker; to
use more cores, run several bridges behind a proxy that sends each session's requests to its
bridge. ``SOPGOV_BRIDGE_INSTANCE`` names a bridge, and the session ids it issues start with that
name and a dot (``a.3f2c…``): ``deploy/nginx.conf`` maps the prefix to the bridge
(``instance_session_ids``) and spreads new sessions and stateless calls over all of them.
"""

from __future__ import annotations

import json
import logging
import weakref
from typing import Any

from mcp.server.lowlevel.server import NotificationOptions
from mcp_types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

logger = logging.getLogger(__name__)

MAX_SESSIONS = 1000
MAX_BODY_BYTES = 4 * 1024 * 1024


class SessionNotifier:
    """The stateful sessions seen so far (weakly held: a closed session drops out) and the
    resources each subscribed to; sends them the change notifications."""

    def __init__(self) -> None:
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._subscriptions: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()

    def seen(self, ctx: Any) -> Any:
        """Remember the connection of a request on a stateful session; return it (or ``None``)."""
        connection = getattr(getattr(ctx, "session", None), "_connection", None)
        if connection is not None and getattr(connection, "session_id", None):
            self._connections.add(connection)
            return connection
        return None

    def install(self, mcp: Any) -> None:
        """Add ``resources/subscribe`` and ``resources/unsubscribe`` to ``mcp`` (an ``MCPServer``) and
        advertise ``resources.listChanged`` and ``resources.subscribe`` in its capabilities."""
        server = mcp._lowlevel_server

        async def subscribe(ctx: Any, params: SubscribeRequestParams) -> EmptyResult:
            connection = self.seen(ctx)
            if connection is not None:
                self._subscriptions.setdefault(connection, set()).add(str(params.uri))
            return EmptyResult()

        async def unsubscribe(ctx: Any, params: UnsubscribeRequestParams) -> EmptyResult:
            connection = self.seen(ctx)
            if connection is not None:
                self._subscriptions.get(connection, set()).discard(str(params.uri))
            return EmptyResult()

        server.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
        server.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
        create = server.create_initialization_options

        def with_resource_notifications(notification_options: Any = None, *args: Any, **kwargs: Any) -> Any:
            return create(notification_options or NotificationOptions(resources_changed=True), *args, **kwargs)

        server.create_initialization_options = with_resource_notifications

    async def bundle_changed(self, changed_uris: set[str]) -> int:
        """Tell every session the resource list changed, and each subscriber which of its
        resources did; return how many notifications were sent. A session whose stream is gone is
        skipped (it is closed by the SDK's idle timeout)."""
        sent = 0
        for connection in list(self._connections):
            try:
                await connection.send_resource_list_changed()
                sent += 1
                for uri in sorted(self._subscriptions.get(connection, set()) & changed_uris):
                    await connection.send_resource_updated(uri)
                    sent += 1
            except Exception as exc:  # one broken stream must not stop the others
                logger.info("session %s not notified: %s", getattr(connection, "session_id", "?"), exc)
        return sent


def changed_resources(before: Any, after: Any) -> set[str]:
    """The ``sop://`` URIs whose served content differs between two libraries (added, removed,
    changed, or a rollout started, stepped or ended), plain and version-pinned."""

    def served(library: Any) -> dict[str, tuple[str, ...]]:
        result = {}
        for sop in library.sops:
            versions = library.served_versions(sop.category, sop.key)
            result[f"sop://{sop.category}/{sop.key}"] = tuple(
                f"{v.version}:{v.content_sha256}:{getattr(library.canaries.get((sop.category, sop.key)), 'percentage', 0)}"
                for v in versions
            )
        return result

    old, new = served(before), served(after)
    return {uri for uri in old.keys() | new.keys() if old.get(uri) != new.get(uri)}


async def is_initialize(receive: Any) -> tuple[bool, list[dict[str, Any]]]:
    """Read a request body (up to ``MAX_BODY_BYTES``); return whether it is an ``initialize``
    request and the messages read, to be replayed to the app that handles it."""
    messages: list[dict[str, Any]] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body") or len(body) > MAX_BODY_BYTES:
            break
    if b"initialize" not in body:
        return False, messages
    try:
        parsed = json.loads(body)
    except ValueError:
        return False, messages
    return isinstance(parsed, dict) and parsed.get("method") == "initialize", messages


SESSION_HEADER = b"mcp-session-id"


def instance_session_ids(app: Any, instance: str) -> Any:
    """Wrap the stateful ASGI ``app`` so the session ids it issues carry ``instance`` as a prefix:
    ``Mcp-Session-Id: <instance>.<id>`` on the way out, the prefix removed on the way in. An id
    without this bridge's prefix reaches the session manager as it is, which answers 404 (MCP
    2025-11-25, "Session Management": the client then starts a new session). ``instance`` empty:
    ``app`` unchanged."""
    if not instance:
        return app
    prefix = f"{instance}.".encode()

    async def prefixed(scope: Any, receive: Any, send: Any) -> None:
        headers = [
            (name, value[len(prefix) :] if name == SESSION_HEADER and value.startswith(prefix) else value)
            for name, value in scope.get("headers", [])
        ]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        (name, prefix + value if name.lower() == SESSION_HEADER else value)
                        for name, value in message.get("headers", [])
                    ],
                }
            await send(message)

        await app({**scope, "headers": headers}, receive, sending)

    return prefixed


def replaying(messages: list[dict[str, Any]], receive: Any) -> Any:
    """An ASGI ``receive`` that returns ``messages`` first, then the original ``receive``'s."""
    pending = list(messages)

    async def replay() -> dict[str, Any]:
        return pending.pop(0) if pending else await receive()

    return replay
