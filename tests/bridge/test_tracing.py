"""mcp_bridge/tracing.py: one span per tool call by the OpenTelemetry MCP/GenAI conventions,
continuing the caller's trace; off unless the OTEL_* variables ask; exported over OTLP."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mcp_bridge import tracing
from mcp_bridge.auth import Caller, current_caller
from mcp_bridge.config import BridgeConfig
from mcp_bridge.replies import specific_sop
from mcp_bridge.server import CallLogMiddleware, _result
from mcp_bridge.state import BridgeState
from tests.bridge.test_units import library as sample_library

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Any:
    exporter = InMemorySpanExporter()
    tracing.configure(exporter, simple=True)
    yield exporter
    tracing.shutdown()


def _call(tmp_path: Path, name: str, arguments: dict[str, Any], meta: dict[str, Any] | None = None) -> Any:
    state = BridgeState(BridgeConfig(cache_dir=tmp_path, routing="lexical", bridge_token=""))
    state.library = sample_library()
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if meta is not None:
        params["_meta"] = meta
    ctx = SimpleNamespace(method="tools/call", params=params, request_id=7)

    async def call_next(_: Any) -> Any:
        return _result(specific_sop(state.library, arguments["category"], arguments["sop_key"], None), "bundle-1")

    token = current_caller.set(Caller(token_id=1, name="reader", scopes=frozenset({"sop:read"})))
    try:
        return anyio.run(CallLogMiddleware(state), ctx, call_next)
    finally:
        current_caller.reset(token)


def test_tool_call__span_named_and_attributed_by_the_conventions(spans: InMemorySpanExporter, tmp_path: Path) -> None:
    _call(tmp_path, "get_specific_sop", {"category": "billing", "sop_key": "refund_policy"})
    (span,) = spans.get_finished_spans()
    assert span.name == "tools/call get_specific_sop" and span.kind is SpanKind.SERVER
    attributes = dict(span.attributes or {})
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["gen_ai.tool.name"] == "get_specific_sop"
    assert attributes["jsonrpc.request.id"] == "7"
    assert (attributes["sop.key"], attributes["sop.version"], attributes["rollout.variant"]) == (
        "billing/refund_policy",
        1,
        "stable",
    )
    assert attributes["sopgov.bundle.sha256"] == sample_library().sha256
    assert "error.type" not in attributes and span.status.status_code is StatusCode.UNSET


def test_tool_call__traceparent_in_meta__continues_the_callers_trace(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    _call(
        tmp_path, "get_specific_sop", {"category": "billing", "sop_key": "refund_policy"}, {"traceparent": TRACEPARENT}
    )
    (span,) = spans.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == "00f067aa0ba902b7"


def test_tool_call__error_result__error_type_and_status(spans: InMemorySpanExporter, tmp_path: Path) -> None:
    _call(tmp_path, "get_specific_sop", {"category": "nope", "sop_key": "x"})
    (span,) = spans.get_finished_spans()
    assert span.attributes["error.type"] == "tool_error"  # type: ignore[index]
    assert span.status.status_code is StatusCode.ERROR


def test_tracing_off__no_span_and_the_call_still_answers(tmp_path: Path) -> None:
    tracing.shutdown()
    result = _call(tmp_path, "get_specific_sop", {"category": "billing", "sop_key": "refund_policy"})
    assert result.structured_content["sop_key"] == "refund_policy"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_wanted__only_the_standard_variables_turn_it_on(environ: dict[str, str], expected: bool) -> None:
    assert tracing.wanted(environ) is expected


class _Collector(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Collector.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.bridge
@pytest.mark.django_db(transaction=True)
def test_bridge_process__otlp_endpoint_set__spans_exported_over_http(
    live_server: Any, library: dict[str, str], tmp_path: Path
) -> None:
    """A real bridge with only OTEL_EXPORTER_OTLP_ENDPOINT set exports its spans to it (OTLP/HTTP)."""
    from tests.bridge.harness import free_port, post_tool, running_bridge, wait_until

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Collector.received.clear()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}", "OTEL_BSP_SCHEDULE_DELAY": "200"}
    try:
        with running_bridge(live_server.url, library["bridge"], tmp_path / "cache", extra_env=env) as bridge:
            post_tool(
                bridge.url,
                library["reader"],
                "get_specific_sop",
                {"category": "billing", "sop_key": "refund_policy"},
            )
            wait_until(lambda: _Collector.received, timeout=10, message="spans at the collector")
    finally:
        server.shutdown()
    path, body = _Collector.received[0]
    assert path == "/v1/traces"
    assert b"tools/call get_specific_sop" in body and b"execute_tool" in body and b"sopgov-bridge" in body


@pytest.mark.parametrize(
    ("meta", "recorded"),
    [(None, 0), ({"traceparent": TRACEPARENT}, 1), ({"traceparent": TRACEPARENT[:-2] + "00"}, 0)],
    ids=["no-caller-trace", "caller-sampled", "caller-not-sampled"],
)
def test_sampler_from_otel_variables__ratio_zero__only_traces_the_caller_sampled_are_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, meta: dict[str, str] | None, recorded: int
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    exporter = InMemorySpanExporter()
    tracing.configure(exporter, simple=True)
    try:
        reply = _call(tmp_path, "get_specific_sop", {"category": "billing", "sop_key": "refund_policy"}, meta)
    finally:
        tracing.shutdown()
    assert not reply.is_error
    assert len(exporter.get_finished_spans()) == recorded
