"""The MCP server: tools and resources over the current bundle, served by streamable HTTP.

Built on the official SDK's ``MCPServer`` in stateless mode with JSON responses: every POST to
``/mcp`` is self-contained, so any number of bridge processes can sit behind a load balancer
(and AgentCore Runtime can host it). Authentication is ``auth.BearerAuthMiddleware``; scope
checks and the tool-call log are an SDK middleware, so every call is seen once, including the
ones the SDK rejects for invalid arguments.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from mcp.server.context import CallNext, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolResult,
    ContentBlock,
    ListResourcesResult,
    PaginatedRequestParams,
    Resource,
    TextContent,
    ToolAnnotations,
)
from starlette.responses import JSONResponse, PlainTextResponse, Response

from . import __version__, metrics, replies, tracing
from .app_client import AppUnavailable
from .auth import (
    SCOPE_PROPOSE,
    SCOPE_READ,
    SCOPE_REPORT,
    BearerAuthMiddleware,
    PlatformAuthMiddleware,
    conversation_key,
    current_caller,
    session_routing_key,
)
from .calllog import make_outcome, make_record
from .manifest import manifest_sha256, tools_manifest
from .oauth import METADATA_PATH, protected_resource_metadata
from .replies import Reply
from .resources import page_cursor, page_offset, register_resources, resources_page_size
from .schemas import CategoriesReply, Outcome, OutcomeReply, ProposalReply, QuestionReply, SOPReply
from .sessions import (
    MAX_SESSIONS,
    SESSION_HEADER,
    SessionNotifier,
    changed_resources,
    instance_session_ids,
    is_initialize,
    replaying,
)
from .state import BridgeState

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Standard operating procedures (SOPs) for customer service, governed by sopgov: every SOP "
    "served here was reviewed and approved by people. Call get_sop_for_question with the "
    "customer's question, or get_specific_sop when you know the SOP; follow the procedure in "
    "sop_content. Propose improvements with propose_sop_change: they are reviewed before going live."
)
STARTUP_SYNC_SECONDS = 10.0
"""With nothing cached, start-up waits this long for the first bundle before taking requests
(a fresh container on AgentCore Runtime would otherwise answer its first calls empty)."""
TOOL_SCOPES = {
    "list_sop_categories": SCOPE_READ,
    "get_sop_for_question": SCOPE_READ,
    "get_specific_sop": SCOPE_READ,
    "propose_sop_change": SCOPE_PROPOSE,
    "report_sop_outcome": SCOPE_REPORT,
}
ROUTING_KEY_HELP = (
    " Pass routing_key (the conversation id) so the whole conversation is served the same version "
    "during a staged rollout; without it the MCP session id is used, else the stable version."
)
MAX_PROPOSAL_CHARS = 200_000
# Reads of the current bundle: no side effect, the same answer for the same conversation and
# bundle, and nothing outside sopgov is reached (MCP "ToolAnnotations").
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


def _result(reply: Reply, bundle_sha256: str) -> CallToolResult:
    """Render a ``Reply`` the way the seed server's clients read it, plus structured content."""
    meta: dict[str, Any] = {"sopgov/bundle_sha256": bundle_sha256}
    if reply.served is not None:
        meta["sopgov/served"] = {
            "sop": reply.served.slug,
            "version": reply.served.version,
            "content_sha256": reply.served.content_sha256,
            "variant": reply.served.variant,
            "bucket": reply.bucket,
            "uri": f"sop://{reply.served.category}/{reply.served.key}@{reply.served.version}",
        }
    if reply.error:
        meta["sopgov/error"] = reply.error
    if isinstance(reply.payload, list):
        # As the seed's FastMCP server did for list results: one text block per item.
        content: list[ContentBlock] = [TextContent(type="text", text=str(item)) for item in reply.payload]
        structured: Any = {"result": reply.payload}
    else:
        content = [TextContent(type="text", text=json.dumps(reply.payload, indent=2, ensure_ascii=False))]
        structured = reply.payload
    return CallToolResult(content=content, structured_content=structured, is_error=reply.is_error, _meta=meta)


class SOPServer(MCPServer):
    """``MCPServer`` whose resource list is the current bundle's live SOPs, in pages."""

    def __init__(self, state: BridgeState, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = state

    async def _handle_list_resources(self, ctx: Any, params: PaginatedRequestParams | None) -> ListResourcesResult:
        resources = await self.list_resources()
        start = page_offset(params.cursor if params else None)
        end = start + resources_page_size()
        return ListResourcesResult(
            resources=resources[start:end], next_cursor=page_cursor(end) if end < len(resources) else None
        )

    async def list_resources(self) -> list[Resource]:
        return [
            Resource(
                uri=f"sop://{s.category}/{s.key}",
                name=s.slug,
                title=s.title,
                description=s.summary,
                mime_type="text/markdown",
            )
            for s in self.state.library.sops
        ]


def _caller_lacks(scope: str) -> Reply | None:
    caller = current_caller.get()
    if caller is PlatformAuthMiddleware.CALLER and not caller.has(scope):
        return Reply(
            {
                "error": "Forbidden",
                "detail": (
                    "This bridge runs behind a platform authorizer (AgentCore Runtime) and does not take "
                    "proposals: propose the change in the sopgov app, or through a bridge that accepts sopgov "
                    "agent tokens. Nothing was recorded; the live SOPs are unchanged."
                ),
            },
            is_error=True,
            error=f"missing scope {scope} (platform caller)",
        )
    if caller is not None and caller.source == "oauth" and scope == SCOPE_PROPOSE:
        return Reply(
            {
                "error": "Forbidden",
                "detail": (
                    "Proposals are recorded under a sopgov agent token (the app reviews them as that agent's); "
                    "an identity provider's access token can read SOPs and report outcomes only."
                ),
            },
            is_error=True,
            error="proposal with an OAuth access token",
        )
    if caller is None or not caller.has(scope):
        return Reply(
            {"error": "Forbidden", "detail": f"This agent token lacks the {scope} scope."},
            is_error=True,
            error=f"missing scope {scope}",
        )
    return None


def build_mcp(state: BridgeState, notifier: SessionNotifier | None = None) -> SOPServer:
    """Return the MCP server with its tools, resources and call-log middleware.

    The read tools are coroutines: they take tens of microseconds (a routed question ≈ 0.2 ms
    once its vector is known), less than a hop to a worker thread and back, which also contends
    for the GIL with the event loop (bench/bridge_throughput.py: +45 % routed calls a second).
    Only the embedding of a new question (≈ 3 ms, released GIL) runs in a thread. The writing
    tools stay synchronous: they journal to disk."""
    mcp = SOPServer(
        state,
        name="sopgov",
        title="sopgov: governed SOPs for customer-service agents",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        middleware=[CallLogMiddleware(state, notifier)],
    )

    @mcp.tool(
        title="List SOP categories",
        description="List the SOP categories that have live SOPs, e.g. billing, technical_support.",
        annotations=READ_ONLY,
    )
    async def list_sop_categories() -> Annotated[CallToolResult, CategoriesReply]:
        library = state.library
        return _result(replies.list_categories(library), library.sha256)

    @mcp.tool(
        title="Find the SOP for a question",
        annotations=READ_ONLY,
        description=(
            "Find the approved SOP that tells you how to handle a customer's question. Pass the "
            "question in the customer's words. Returns {category, sop_key, sop_content, title, version, "
            "content_sha256, confidence, alternatives}; or {category, sop_list, sop_content} when several "
            "SOPs may apply (pick one with get_specific_sop); or {category: 'general'} when no SOP fits."
            + ROUTING_KEY_HELP
        ),
    )
    async def get_sop_for_question(
        question: str, routing_key: str | None = None
    ) -> Annotated[CallToolResult, QuestionReply]:
        library = state.library
        key = conversation_key(routing_key)
        vectors = None
        if replies.question_problem(question, key) is None:
            vectors = library.router.known_vectors(question)
            if vectors is None:  # the model runs in a worker thread; the rest (≈ 0.2 ms) here
                vectors = await anyio.to_thread.run_sync(library.router.embed, question)
        return _result(replies.sop_for_question(library, question, key, vectors), library.sha256)

    @mcp.tool(
        title="Get a specific SOP",
        annotations=READ_ONLY,
        description=(
            "Get one approved SOP by category and key, e.g. category 'billing', sop_key 'refund_policy'. "
            "Returns {category, sop_key, sop_content, title, version, content_sha256}; an unknown category "
            "or key is an error listing available_categories or available_sops." + ROUTING_KEY_HELP
        ),
    )
    async def get_specific_sop(
        category: str, sop_key: str, routing_key: str | None = None
    ) -> Annotated[CallToolResult, SOPReply]:
        library = state.library
        return _result(replies.specific_sop(library, category, sop_key, conversation_key(routing_key)), library.sha256)

    @mcp.tool(
        title="Report a conversation's outcome",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
        description=(
            "Report how a conversation that followed an SOP ended: outcome 'resolved', 'escalated', 'complaint' "
            "or 'error'. Give the conversation's routing_key and the SOP's category and sop_key; version is "
            "optional (default: the version this conversation is served). Staged rollouts advance or roll "
            "back on these reports."
        ),
    )
    def report_sop_outcome(
        routing_key: str, category: str, sop_key: str, outcome: Outcome, version: int | None = None
    ) -> Annotated[CallToolResult, OutcomeReply]:
        library = state.library
        caller = current_caller.get()
        reply = replies.outcome_report(library, routing_key, category, sop_key, outcome, version)
        if not reply.is_error:
            state.calls.add(
                make_outcome(
                    category=category,
                    sop_key=sop_key,
                    version=reply.payload["version"],
                    routing_key=routing_key,
                    outcome=outcome,
                    reporter=caller.name if caller else "",
                )
            )
        return _result(reply, library.sha256)

    @mcp.tool(
        title="Propose an SOP change",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
        description=(
            "Propose new content for an existing SOP. It becomes a draft that people review and approve; "
            "what agents are served does not change. Give the full new Markdown content and your rationale."
        ),
    )
    async def propose_sop_change(
        category: str, sop_key: str, content: str, rationale: str
    ) -> Annotated[CallToolResult, ProposalReply]:
        library = state.library
        caller = current_caller.get()
        for name, value in (
            ("category", category),
            ("sop_key", sop_key),
            ("content", content),
            ("rationale", rationale),
        ):
            if not value.strip():
                return _result(replies.invalid_arguments(f"'{name}' must not be empty."), library.sha256)
        if len(content) > MAX_PROPOSAL_CHARS:
            return _result(
                replies.invalid_arguments(f"'content' is longer than {MAX_PROPOSAL_CHARS} characters."), library.sha256
            )
        try:
            status, body = await state.app.propose(
                caller.raw_token if caller else "",
                {"category": category, "sop_key": sop_key, "content": content, "rationale": rationale},
            )
        except AppUnavailable as exc:
            logger.warning("proposal not delivered: %s", exc)
            return _result(
                Reply(
                    {
                        "error": "Governance app unreachable",
                        "detail": "Nothing was recorded; the live SOPs are unchanged. Try again later.",
                    },
                    is_error=True,
                    error="app unreachable",
                ),
                library.sha256,
            )
        if status == 201:
            return _result(
                Reply(
                    {
                        "status": "proposed",
                        "message": (
                            f"Recorded as draft v{body['number']} of {body['sop']} for people to review. "
                            "Agents keep being served the live version until a reviewed version is published."
                        ),
                        "category": category,
                        "sop_key": sop_key,
                        "draft_version": body["number"],
                    }
                ),
                library.sha256,
            )
        payload = {
            "error": body.get("detail") or "Proposal refused",
            **{k: v for k, v in body.items() if k == "available_sops"},
        }
        return _result(Reply(payload, is_error=True, error=str(body.get("error", status))), library.sha256)

    register_resources(mcp, state)
    if notifier is not None:
        notifier.install(mcp)

    return mcp


CONTROL_CHARACTERS = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}


def _unstorable_text(arguments: Any) -> Reply | None:
    """Return an error reply naming the first text argument that holds a control character (NUL
    and the other C0 controls but tab, newline and carriage return): no SOP, question or routing
    key contains one, and a NUL cannot be stored in the app's database."""
    if not isinstance(arguments, dict):
        return None
    for name, value in arguments.items():
        if isinstance(value, str) and not CONTROL_CHARACTERS.isdisjoint(value):
            return Reply(
                {
                    "error": "Invalid argument",
                    "detail": f"'{name}' contains a control character (such as NUL); send plain text.",
                },
                is_error=True,
                error=f"control character in argument {name}",
            )
    return None


class CallLogMiddleware:
    """SDK middleware: refuse tools the caller's scopes do not allow, and log every tool call;
    with sessions on, remember each stateful session for change notifications."""

    def __init__(self, state: BridgeState, notifier: SessionNotifier | None = None) -> None:
        self.state = state
        self.notifier = notifier

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> Any:
        if self.notifier is not None:
            self.notifier.seen(ctx)
        if ctx.method == "resources/read" or ctx.method == "resources/list":
            if _caller_lacks(SCOPE_READ) is not None:
                raise MCPError(code=-32001, message="This agent token lacks the sop:read scope.")
            return await call_next(ctx)
        if ctx.method != "tools/call":
            return await call_next(ctx)
        params = ctx.params or {}
        tool = str(params.get("name", ""))
        with tracing.tool_span(tool, params, ctx.request_id, session_routing_key.get() or None) as span:
            return await self._call(ctx, call_next, params, tool, span)

    async def _call(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext, params: Any, tool: str, span: Any
    ) -> Any:
        arguments = params.get("arguments") or {}
        started = time.perf_counter()
        bundle = self.state.library.sha256
        denied = _caller_lacks(TOOL_SCOPES.get(tool, SCOPE_READ)) or _unstorable_text(arguments)
        result: Any = None
        error = ""
        try:
            result = _result(denied, bundle) if denied is not None else _structured_error(await call_next(ctx), bundle)
            return result
        except Exception as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            raise
        finally:
            elapsed = time.perf_counter() - started
            meta, is_error, text = _result_fields(result)
            # unknown names are one label, so callers cannot grow the metrics without bound
            metrics.observe_call(tool if tool in TOOL_SCOPES else "unknown", is_error or bool(error), elapsed)
            served = meta.get("sopgov/served")
            tracing.record_result(span, is_error=is_error, error_text=text, served=served, bundle=bundle)
            routing_key = arguments.get("routing_key") if isinstance(arguments, dict) else None
            self.state.calls.add(
                make_record(
                    tool=tool,
                    arguments=arguments,
                    caller=current_caller.get(),
                    bundle_sha256=bundle,
                    latency_ms=elapsed * 1000,
                    served=_Served(served) if served else None,
                    is_error=is_error or bool(error),
                    error=(error or meta.get("sopgov/error", "") or text) if (is_error or error) else "",
                    routing_key=(routing_key if isinstance(routing_key, str) else "") or session_routing_key.get(),
                    bucket=served.get("bucket") if served else None,
                )
            )


def _structured_error(result: Any, bundle_sha256: str) -> Any:
    """Give an error the SDK produced itself (arguments that fail the input schema, an unknown
    tool) the same structured body as the tools' own errors: ``{"error": "Invalid arguments",
    "detail": <the SDK's message>}``. Other results pass through unchanged (successful ones at
    the cost of one attribute read: this runs on every call)."""
    is_dict = isinstance(result, dict)
    if not (result.get("isError") if is_dict else getattr(result, "is_error", False)):
        return result
    structured = result.get("structuredContent") if is_dict else getattr(result, "structured_content", 0)
    if structured not in (None, {}):
        return result
    _, _, text = _result_fields(result)
    detail = _readable_validation_error(text)
    return _result(Reply({"error": "Invalid arguments", "detail": detail}, is_error=True, error=detail), bundle_sha256)


_PYDANTIC_ERROR_LINE = re.compile(r"^(\w+)\n\s+(.+?) \[type=", re.MULTILINE)


def _readable_validation_error(text: str) -> str:
    """Turn pydantic's report of arguments that fail the input schema into one line per argument,
    e.g. ``'outcome': Input should be 'resolved', 'escalated', 'complaint' or 'error'``."""
    problems = _PYDANTIC_ERROR_LINE.findall(text)
    return "; ".join(f"'{name}': {message}" for name, message in problems) if problems else text


def _result_fields(result: Any) -> tuple[dict[str, Any], bool, str]:
    """Return ``(_meta, isError, first text)`` of a tool result, model or already-serialised dict."""
    if result is None:
        return {}, False, ""
    if isinstance(result, dict):
        content = result.get("content") or []
        text = content[0].get("text", "") if content and isinstance(content[0], dict) else ""
        return result.get("_meta") or {}, bool(result.get("isError")), text[:500]
    content = getattr(result, "content", None) or []
    text = getattr(content[0], "text", "") if content else ""
    return getattr(result, "meta", None) or {}, bool(getattr(result, "is_error", False)), text[:500]


class _Served:
    """Adapter from the ``sopgov/served`` meta entry to what ``make_record`` reads."""

    def __init__(self, served: dict[str, Any]) -> None:
        self.slug = served["sop"]
        self.version = served["version"]
        self.content_sha256 = served["content_sha256"]
        self.variant = served.get("variant", "")


def _has_session(scope: Any) -> bool:
    return any(name == SESSION_HEADER for name, _ in scope["headers"])


class BridgeApp:
    """The bridge's ASGI application: ``/healthz`` (and ``/ping`` for AgentCore), and everything else to the bearer-checked
    MCP app (which serves ``/mcp``). Its lifespan loads the disk cache, tunes the garbage
    collector, runs the SDK's session manager, keeps the bundle current and ships the call log.

    Dispatching here instead of through another Starlette router keeps one framework layer
    off every tool call (see ``docs/BENCHMARKS.md``).
    """

    def __init__(self, state: BridgeState, mcp: SOPServer, mcp_app: Any, sessions: Any = None) -> None:
        self.state = state
        self.mcp = mcp
        self.verifier: Any = None
        oauth_settings = state.config.oauth()
        if oauth_settings is not None and state.config.auth != "none":
            from .oauth import JwtVerifier

            self.verifier = JwtVerifier(oauth_settings)
        self.protected = self._authenticated(mcp_app)
        # with SOPGOV_BRIDGE_SESSIONS=1: the stateful session manager and its app (mcp_bridge.sessions)
        self.sessions = sessions
        self.stateful: Any = (
            instance_session_ids(self._authenticated(StreamableHTTPASGIApp(sessions)), state.config.instance)
            if sessions is not None
            else None
        )

    def _authenticated(self, app: Any) -> Any:
        if self.state.config.auth == "none":
            return PlatformAuthMiddleware(app)
        return BearerAuthMiddleware(app, self.state, self.verifier)

    async def _mcp(self, scope: Any, receive: Any, send: Any) -> None:
        """``/mcp`` with sessions on: requests of a session, and ``initialize``, to the stateful
        manager; everything else stateless as without sessions."""
        if _has_session(scope):
            await self.stateful(scope, receive, send)
            return
        initialize, messages = await is_initialize(receive)
        target = self.stateful if initialize else self.protected
        await target(scope, replaying(messages, receive), send)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and scope["path"] == "/healthz":
            await JSONResponse(self.state.health())(scope, receive, send)
        elif scope["type"] == "http" and scope["path"].startswith(METADATA_PATH):
            settings = self.state.config.oauth()
            if settings is None:
                await PlainTextResponse("Not found: this bridge takes sopgov agent tokens only.", 404)(
                    scope, receive, send
                )
            else:
                await JSONResponse(protected_resource_metadata(settings))(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == "/metrics":
            body, content_type = metrics.render(self.state)
            await Response(body, media_type=content_type)(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == "/ping":
            # AgentCore Runtime's health contract: {"status": "Healthy"}.
            await JSONResponse({"status": "Healthy", "time_of_last_update": int(self.state.started_at)})(
                scope, receive, send
            )
        elif (
            self.stateful is not None
            and scope["type"] == "http"
            and scope["path"].rstrip("/") == "/mcp"
            and (scope["method"] == "POST" or _has_session(scope))
        ):
            await self._mcp(scope, receive, send)
        elif scope["type"] == "http" and scope["method"] == "GET" and scope["path"].rstrip("/") == "/mcp":
            # Stateless: the bridge has no messages of its own to stream, and an SSE stream opened
            # here would stay open for ever (a file descriptor and memory each). MCP 2025-06-18,
            # transports, "Listening for Messages from the Server": such a server answers GET with 405.
            await PlainTextResponse(
                "This server sends no messages of its own; POST MCP requests to /mcp.",
                status_code=405,
                headers={"Allow": "POST"},
            )(scope, receive, send)
        else:
            await self.protected(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            async with self._running():
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
                assert message["type"] == "lifespan.shutdown"
        except BaseException as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        state = self.state
        state.load_cache()
        if not state.library.sops:
            await state.first_sync(timeout=STARTUP_SYNC_SECONDS)
        state.tools_sha256 = manifest_sha256(await tools_manifest(self.mcp))
        if tracing.configure_from_env():
            logger.info("tracing tool calls with OpenTelemetry (OTLP, from the OTEL_* variables)")
        tune_gc(state.config.gc_thresholds)
        sessions = self.sessions.run() if self.sessions is not None else contextlib.nullcontext()
        async with self.mcp.session_manager.run(), sessions, anyio.create_task_group() as tasks:
            tasks.start_soon(state.sync_forever)
            tasks.start_soon(state.ship_calls_forever)
            tasks.start_soon(state.heartbeat_forever)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
        with anyio.CancelScope(shield=True):
            try:
                with anyio.fail_after(3):
                    if state.ships_to_app:
                        await state.calls.flush(state.app, state.config.bridge_id)
            except Exception:
                logger.warning("could not send the last tool calls; they stay spooled")
            if state.ships_to_app:
                state.calls.spool_now()
            else:
                state.log_calls()
            await state.app.aclose()
            await anyio.to_thread.run_sync(tracing.shutdown)


def tune_gc(thresholds: tuple[int, int, int]) -> None:
    """Move start-up objects out of the collector's way and collect young objects less often.

    A tool call allocates thousands of short-lived objects in the SDK; with CPython's default
    thresholds (700, 10, 10) the collector runs so often that its pauses dominate tail latency.
    ``gc.freeze()`` excludes the long-lived start-up heap (modules, the library index) from
    every later collection. The approach is Instagram's ("Dismissing Python Garbage
    Collection at Instagram", 2017); the thresholds were measured in ``bench/``.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)


def _notifying(notifier: SessionNotifier) -> Any:
    """A bundle listener that sends the sessions their change notifications."""

    async def notify(previous: Any, library: Any) -> None:
        sent = await notifier.bundle_changed(changed_resources(previous, library))
        if sent:
            logger.info("change notifications sent: %d", sent)

    return notify


def build_app(state: BridgeState) -> BridgeApp:
    """Return the bridge's ASGI app for ``state`` (see ``BridgeApp``)."""
    notifier = SessionNotifier() if state.config.sessions else None
    mcp = build_mcp(state, notifier)
    config = state.config
    allowed = config.allowed_hosts or ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    security = TransportSecuritySettings(
        # "*": behind a platform (AgentCore Runtime) that sets its own Host; no browser reaches it.
        enable_dns_rebinding_protection=allowed != ["*"],
        allowed_hosts=allowed,
        allowed_origins=[f"http://{h}" for h in allowed] + [f"https://{h}" for h in allowed],
    )
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=security,
        host=config.host,
    )
    sessions = None
    if notifier is not None:
        sessions = StreamableHTTPSessionManager(
            app=mcp._lowlevel_server,
            json_response=True,
            stateless=False,
            security_settings=security,
            session_idle_timeout=config.session_idle_seconds,
            max_sessions=MAX_SESSIONS,
        )

        state.bundle_listeners.append(_notifying(notifier))
    return BridgeApp(state, mcp, mcp_app, sessions)
