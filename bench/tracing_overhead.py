"""CPU per tool call added by OpenTelemetry tracing, measured in-process (no HTTP, no wrk noise).

``CallLogMiddleware`` — the bridge's wrapper around every ``tools/call`` — is driven directly
with ``get_specific_sop`` on a four-SOP library, alternately with tracing off, with tracing on
into an exporter that drops spans (what making the span costs), and with tracing on into the
real OTLP/HTTP exporter posting to a local sink (what encoding and sending adds, in its
thread), and with one trace in ten sampled by the standard ``OTEL_TRACES_SAMPLER`` variables. ``--rounds`` alternations of ``--calls`` calls each; medians of µs per call.

    python bench/tracing_overhead.py [--calls 20000] [--rounds 5]

Compare with a whole call's cost in ``bridge_throughput.py`` (≈ 750 µs of a core at 1,330
calls/s) to read it as a share of throughput.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
from bridge_throughput import otlp_sink  # noqa: E402
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult  # noqa: E402

from mcp_bridge import tracing  # noqa: E402
from mcp_bridge.auth import Caller, current_caller  # noqa: E402
from mcp_bridge.config import BridgeConfig  # noqa: E402
from mcp_bridge.replies import specific_sop  # noqa: E402
from mcp_bridge.server import CallLogMiddleware, _result  # noqa: E402
from mcp_bridge.state import BridgeState  # noqa: E402
from tests.bridge.test_units import library  # noqa: E402

ARGS = {"category": "billing", "sop_key": "refund_policy"}


class _Drop(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _per_call_us(state: BridgeState, calls: int) -> float:
    middleware = CallLogMiddleware(state)
    params = {"name": "get_specific_sop", "arguments": ARGS, "_meta": {}}
    ctx = SimpleNamespace(method="tools/call", params=params, request_id=1)

    async def call_next(_: Any) -> Any:
        return _result(specific_sop(state.library, ARGS["category"], ARGS["sop_key"], None), "b")

    async def run() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            await middleware(ctx, call_next)  # type: ignore[arg-type]
        return (time.perf_counter() - started) / calls * 1e6

    token = current_caller.set(Caller(1, "bench", frozenset({"sop:read"})))
    try:
        return anyio.run(run)
    finally:
        current_caller.reset(token)
        state.calls.buffer.clear()


@contextlib.contextmanager
def _sampling_one_in_ten() -> Iterator[None]:
    """Set the standard sampler variables to keep one trace in ten, as an operator would."""
    saved = {k: os.environ.get(k) for k in ("OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG")}
    os.environ.update(OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG="0.1")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    state = BridgeState(BridgeConfig(cache_dir=Path(tempfile.mkdtemp()), routing="lexical", bridge_token=""))
    state.library = library()
    sink = otlp_sink()
    results: dict[str, list[float]] = {
        "off": [],
        "on, spans dropped": [],
        "on, OTLP/HTTP export": [],
        "on, 1 in 10 sampled": [],
    }
    for _ in range(args.rounds):
        tracing.shutdown()
        results["off"].append(_per_call_us(state, args.calls))
        tracing.configure(_Drop())
        results["on, spans dropped"].append(_per_call_us(state, args.calls))
        tracing.shutdown()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracing.configure(OTLPSpanExporter(endpoint=f"{sink}/v1/traces"))
        results["on, OTLP/HTTP export"].append(_per_call_us(state, args.calls))
        tracing.shutdown()  # flushes what is queued, outside the timed loop
        with _sampling_one_in_ten():
            tracing.configure(OTLPSpanExporter(endpoint=f"{sink}/v1/traces"))
            results["on, 1 in 10 sampled"].append(_per_call_us(state, args.calls))
            tracing.shutdown()
    off = statistics.median(results["off"])
    print(f"{'tracing':<24} {'µs/call':>8} {'added':>7}")
    for name, runs in results.items():
        median = statistics.median(runs)
        print(f"{name:<24} {median:>8.1f} {median - off:>7.1f}")


if __name__ == "__main__":
    main()
