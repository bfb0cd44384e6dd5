"""Bridge ``tools/call`` throughput and latency, side by side with the seed-style anchor.

All servers run on this machine at the same time and are measured in alternating rounds with
wrk (``-t1 -c16``, the shared ``tools_call.lua``), so machine noise hits them alike. Tools:
``get_specific_sop`` and ``get_sop_for_question``, on the demo library (86 live SOPs on the
bridge; the anchor's 9 in-memory SOPs). Servers: the anchor; the bridge with one worker and
with two; docker-compose's layout (two one-process bridges with sessions on, behind the shipped
deploy/nginx.conf); the bridge with OpenTelemetry tracing on, exporting every span over
OTLP/HTTP to a local sink, and with one trace in ten sampled
(``OTEL_TRACES_SAMPLER=parentbased_traceidratio``). wrk repeats one question, which the bridge's
question-vector cache answers after the first call; the bridge with the cache off shows what a
stream of distinct questions gets.

Ratios (× anchor, the cost of tracing) are taken per round between servers measured seconds
apart, and their median reported with the range over rounds: the machine's slow drifts cancel.

    python bench/bridge_throughput.py [--seconds 8] [--rounds 5]

Prints one JSON line per measurement, then a table of medians; writes bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
from stack import ROOT, SHARED_BENCH, Stack, demo_stack, free_port, wait_http  # noqa: E402

from tests.nginx import running_nginx, shipped_conf  # noqa: E402

CALLS = {
    "get_specific_sop": ({"category": "billing", "sop_key": "refund_policy"}, "refund_policy"),
    "get_sop_for_question": ({"question": "I want to know the refund policy for my recent purchase"}, "refund_policy"),
}


ANCHOR = "anchor (seed-style, mcp 1.x)"


def _paired(
    results: dict[tuple[str, str], list[dict[str, float]]], tool: str, name: str, reference: str
) -> list[float]:
    """Per round, ``name``'s calls/s over ``reference``'s (measured seconds apart, so the machine's
    slow drifts cancel out; their median is what the summary reports)."""
    return [r["rps"] / ref["rps"] for r, ref in zip(results[(tool, name)], results[(tool, reference)], strict=True)]


def wrk(
    url: str, tool: str, arguments: dict[str, object], expect: str, seconds: int, auth: str | None
) -> dict[str, float]:
    """Run wrk (``-t1 -c16``) posting one ``tools/call``; return its JSON summary line.

    ``expect`` must appear in every reply (else the reply counts as bad)."""
    env = {
        **os.environ,
        "MCP_BODY": json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
        ),
        "MCP_EXPECT": expect,
    }
    if auth:
        env["MCP_AUTH"] = auth
    done = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", str(SHARED_BENCH / "tools_call.lua"), url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


class _OtlpSink(BaseHTTPRequestHandler):
    """Accepts OTLP/HTTP exports and drops them (what a collector costs the bridge is not measured)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def otlp_sink() -> str:
    """Start a local OTLP/HTTP sink; return its endpoint."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtlpSink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def compose_layout(stack: Stack, exits: contextlib.ExitStack) -> str:
    """Start docker-compose's bridge layout — bridges ``a`` and ``b``, one process each with
    sessions on, behind the shipped deploy/nginx.conf — and return its MCP URL."""
    ports = {}
    for name in ("a", "b"):
        url = stack.start_bridge(extra_env={"SOPGOV_BRIDGE_SESSIONS": "1", "SOPGOV_BRIDGE_INSTANCE": name})
        ports[name] = url.removeprefix("http://127.0.0.1:").removesuffix("/mcp")
    listen = free_port()
    site = shipped_conf(
        {
            "web:8000": stack.web_url.removeprefix("http://"),
            "bridge-a:8001": f"127.0.0.1:{ports['a']}",
            "bridge-b:8001": f"127.0.0.1:{ports['b']}",
        },
        {8000: f"127.0.0.1:{free_port()}", 8001: f"127.0.0.1:{listen}"},
    )
    exits.enter_context(running_nginx(site))
    wait_http(f"http://127.0.0.1:{listen}/healthz")
    return f"http://127.0.0.1:{listen}/mcp"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    # Seven bridges polling the app four times a second would load the machine they are measured
    # on; every 5 s is enough here (nothing is published during the run).
    quiet = {"SOPGOV_BRIDGE_POLL_SECONDS": "5", "SOPGOV_BRIDGE_HEARTBEAT_SECONDS": "30"}
    with demo_stack(bridge_env=quiet) as stack, contextlib.ExitStack() as exits:
        servers = {
            ANCHOR: (stack.anchor_url, None),
            "bridge (1 worker)": (stack.bridge_url, f"Bearer {stack.agent_token}"),
            "bridge (2 workers)": (stack.start_bridge(workers=2), f"Bearer {stack.agent_token}"),
            "bridge (1 worker, question cache off)": (
                stack.start_bridge(extra_env={"SOPGOV_BRIDGE_QUESTION_CACHE": "0"}),
                f"Bearer {stack.agent_token}",
            ),
            "bridge (1 worker, tracing on)": (
                stack.start_bridge(extra_env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_sink()}),
                f"Bearer {stack.agent_token}",
            ),
            "bridge (1 worker, tracing 1 in 10)": (
                stack.start_bridge(
                    extra_env={
                        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_sink(),
                        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                        "OTEL_TRACES_SAMPLER_ARG": "0.1",
                    }
                ),
                f"Bearer {stack.agent_token}",
            ),
            "compose: 2 bridges behind nginx": (
                compose_layout(stack, exits),
                f"Bearer {stack.agent_token}",
            ),
        }
        for round_number in range(1, args.rounds + 1):
            for tool in CALLS:
                for name, (url, auth) in servers.items():
                    measured = wrk(url, tool, *CALLS[tool], args.seconds, auth)
                    results.setdefault((tool, name), []).append(measured)
                    print(json.dumps({"round": round_number, "tool": tool, "server": name, **measured}), flush=True)
    summary = []
    for tool in CALLS:
        for (t, name), runs in results.items():
            if t != tool:
                continue
            versus = _paired(results, tool, name, ANCHOR)
            summary.append(
                {
                    "tool": tool,
                    "server": name,
                    "rps": round(statistics.median(r["rps"] for r in runs), 1),
                    "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
                    "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
                    "vs_anchor": round(statistics.median(versus), 2),
                    "vs_anchor_range": [round(min(versus), 2), round(max(versus), 2)],
                    "bad_replies": sum(r["non2xx_or_bad_thread0"] + r["errors"] for r in runs),
                }
            )
    print(
        f"\n{'tool':<22} {'server':<34} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'x anchor':>8} "
        f"{'(range)':>12} {'bad':>4}"
    )
    for row in summary:
        low, high = row["vs_anchor_range"]
        print(
            f"{row['tool']:<22} {row['server']:<34} {row['rps']:>8} {row['p50_ms']:>7} {row['p99_ms']:>7} "
            f"{row['vs_anchor']:>8} {f'{low}–{high}':>12} {row['bad_replies']:>4}"
        )
    for tool in CALLS:
        for label, traced in (
            ("every call traced", "bridge (1 worker, tracing on)"),
            ("1 in 10 traced", "bridge (1 worker, tracing 1 in 10)"),
        ):
            cost = [100 * (1 - k) for k in _paired(results, tool, traced, "bridge (1 worker)")]
            print(
                f"tracing cost, {label}, {tool}: {statistics.median(cost):.1f} % of calls/s "
                f"(rounds: {', '.join(f'{c:.1f}' for c in cost)})"
            )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "bridge_throughput.json").write_text(
        json.dumps({"summary": summary, "seconds": args.seconds, "rounds": args.rounds}, indent=2)
    )


if __name__ == "__main__":
    main()
