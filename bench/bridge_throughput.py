"""Bridge ``tools/call`` throughput and latency, side by side with the seed-style anchor.

Both servers run on this machine at the same time and are measured in alternating rounds with
wrk (``-t1 -c16``, the shared ``tools_call.lua``), so machine noise hits both alike. Tools:
``get_specific_sop`` and ``get_sop_for_question``, on the demo library (86 live SOPs on the
bridge; the anchor's 9 in-memory SOPs). Also the bridge with two worker processes, the
bridge with CPython's default GC thresholds (to show what ``tune_gc`` buys), and the bridge with
OpenTelemetry tracing on, exporting every span over OTLP/HTTP to a local sink (its cost), and
with one trace in ten sampled (``OTEL_TRACES_SAMPLER=parentbased_traceidratio``). wrk
repeats one question, which the bridge's question-vector cache answers after the first call; the
bridge with the cache off shows what a stream of distinct questions gets.

    python bench/bridge_throughput.py [--seconds 10] [--rounds 3]

Prints one JSON line per measurement, then a table of medians; writes bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, SHARED_BENCH, demo_stack

CALLS = {
    "get_specific_sop": ({"category": "billing", "sop_key": "refund_policy"}, "refund_policy"),
    "get_sop_for_question": ({"question": "I want to know the refund policy for my recent purchase"}, "refund_policy"),
}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with demo_stack() as stack:
        servers = {
            "anchor (seed-style, mcp 1.x)": (stack.anchor_url, None),
            "bridge (1 worker)": (stack.bridge_url, f"Bearer {stack.agent_token}"),
            "bridge (2 workers)": (stack.start_bridge(workers=2), f"Bearer {stack.agent_token}"),
            "bridge (1 worker, default GC)": (
                stack.start_bridge(gc_thresholds="700,10,10"),
                f"Bearer {stack.agent_token}",
            ),
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
        }
        for round_number in range(1, args.rounds + 1):
            for tool in CALLS:
                for name, (url, auth) in servers.items():
                    measured = wrk(url, tool, *CALLS[tool], args.seconds, auth)
                    results.setdefault((tool, name), []).append(measured)
                    print(json.dumps({"round": round_number, "tool": tool, "server": name, **measured}), flush=True)
    summary = []
    for tool in CALLS:
        anchor = statistics.median(r["rps"] for r in results[(tool, "anchor (seed-style, mcp 1.x)")])
        for (t, name), runs in results.items():
            if t != tool:
                continue
            rps = statistics.median(r["rps"] for r in runs)
            summary.append(
                {
                    "tool": tool,
                    "server": name,
                    "rps": round(rps, 1),
                    "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
                    "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
                    "vs_anchor": round(rps / anchor, 2),
                    "bad_replies": sum(r["non2xx_or_bad_thread0"] + r["errors"] for r in runs),
                }
            )
    print(f"\n{'tool':<22} {'server':<32} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'x anchor':>8} {'bad':>4}")
    for row in summary:
        print(
            f"{row['tool']:<22} {row['server']:<32} {row['rps']:>8} {row['p50_ms']:>7} {row['p99_ms']:>7} "
            f"{row['vs_anchor']:>8} {row['bad_replies']:>4}"
        )
    for tool in CALLS:
        rows = {row["server"]: row for row in summary if row["tool"] == tool}
        off, on = rows["bridge (1 worker)"]["rps"], rows["bridge (1 worker, tracing on)"]["rps"]
        print(f"tracing cost, {tool}: {100 * (1 - on / off):.1f} % of calls/s (1 worker)")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "bridge_throughput.json").write_text(
        json.dumps({"summary": summary, "seconds": args.seconds, "rounds": args.rounds}, indent=2)
    )


if __name__ == "__main__":
    main()
