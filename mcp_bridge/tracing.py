"""OpenTelemetry traces of tool calls, off unless the standard ``OTEL_*`` variables ask for them.

One span per ``tools/call``, following the OpenTelemetry semantic conventions for MCP and
GenAI (semconv "gen-ai/mcp" and "gen-ai spans › execute tool"): name ``tools/call {tool}``,
kind SERVER, attributes ``mcp.method.name``, ``gen_ai.operation.name = execute_tool``,
``gen_ai.tool.name``, ``jsonrpc.request.id``, ``mcp.session.id``, and on failure ``error.type``
(``tool_error`` for an error result, else the exception's class) with status ERROR. sopgov adds
``sop.key``, ``sop.version``, ``rollout.variant`` and ``sopgov.bundle.sha256``.

A ``traceparent`` (and ``tracestate``) in the request's ``params._meta`` continues the caller's
trace (W3C Trace Context, the MCP convention for propagating it).

Exporting: the OTLP/HTTP exporter, configured only by the standard variables
(``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``…_HEADERS``,
``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``…), which is what
AgentCore Runtime's observability (ADOT) reads. ``OTEL_TRACES_SAMPLER`` is how an operator pays
less for it: every span costs the cheapest tool call about a fifth of its throughput
(``docs/BENCHMARKS.md``), and ``parentbased_traceidratio`` with ``OTEL_TRACES_SAMPLER_ARG=0.1``
keeps one trace in ten while still following a caller that sampled its own. Tracing is on when an OTLP endpoint is set or
``OTEL_TRACES_EXPORTER=otlp``, and off when ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none``. Off, no span is made at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_NO_PARENT = Context()
_tracer: trace.Tracer | None = None


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the ``OTEL_*`` variables ask for traces (see the module's docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return bool(endpoint) or exporter == "otlp"


def configure(exporter: Any = None, *, simple: bool = False) -> trace.Tracer:
    """Start tracing: a ``TracerProvider`` with the resource from ``OTEL_SERVICE_NAME`` /
    ``OTEL_RESOURCE_ATTRIBUTES`` (service name default ``sopgov-bridge``) and ``exporter``
    (default: OTLP over HTTP from the ``OTEL_*`` variables) behind a batch processor, or a
    simple (synchronous) one with ``simple=True`` (tests). Return the tracer."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from . import __version__

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    service = os.environ.get("OTEL_SERVICE_NAME") or "sopgov-bridge"
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.version": __version__}))
    provider.add_span_processor(SimpleSpanProcessor(exporter) if simple else BatchSpanProcessor(exporter))
    global _tracer, _provider
    _provider = provider
    _tracer = provider.get_tracer("sopgov.mcp_bridge", __version__)
    return _tracer


def configure_from_env() -> bool:
    """Configure tracing when the ``OTEL_*`` variables ask for it; return whether it is on."""
    if wanted():
        configure()
    return _tracer is not None


_provider: Any = None


def shutdown() -> None:
    """Export the spans still queued and stop (at the bridge's shutdown); then no span is made."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


@contextmanager
def tool_span(tool: str, params: Mapping[str, Any], request_id: Any, session_id: str | None) -> Iterator[Any]:
    """A SERVER span around one ``tools/call`` of ``tool``, child of the ``traceparent`` in
    ``params._meta`` if any; yields the span (``None`` while tracing is off)."""
    if _tracer is None:
        yield None
        return
    meta = params.get("_meta")
    carrier = (
        {k: str(v) for k, v in meta.items() if k in ("traceparent", "tracestate")} if isinstance(meta, dict) else {}
    )
    attributes: dict[str, Any] = {
        "mcp.method.name": "tools/call",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool,
    }
    if request_id is not None:
        attributes["jsonrpc.request.id"] = str(request_id)
    if session_id:
        attributes["mcp.session.id"] = session_id
    # Started without becoming the current span, and from an explicit parent context (the
    # caller's, else none): the bridge makes no child spans, and skipping the context-variable
    # lookups and attach/detach roughly halves a span's cost (bench/tracing_overhead.py).
    span = _tracer.start_span(
        f"tools/call {tool}",
        context=_propagator.extract(carrier) if carrier else _NO_PARENT,
        kind=SpanKind.SERVER,
        attributes=attributes,
    )
    try:
        yield span
    except BaseException as exc:
        span.record_exception(exc)
        span.set_attribute("error.type", type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:200]))
        raise
    finally:
        span.end()


def record_result(span: Any, *, is_error: bool, error_text: str, served: Mapping[str, Any] | None, bundle: str) -> None:
    """Add what the call served and whether it failed to ``span`` (no-op for ``None`` and for a
    span the sampler dropped)."""
    if span is None or not span.is_recording():
        return
    attributes: dict[str, Any] = {"sopgov.bundle.sha256": bundle}
    if served:
        attributes["sop.key"] = str(served.get("sop", ""))
        attributes["sop.version"] = int(served.get("version") or 0)
        attributes["rollout.variant"] = str(served.get("variant", ""))
    if is_error:
        attributes["error.type"] = "tool_error"
    span.set_attributes(attributes)  # one lock, not one per attribute
    if is_error:
        span.set_status(Status(StatusCode.ERROR, error_text[:200]))
