"""Time from ``publish`` returning to the bridge serving the new version.

Through the REST API as people would: an author drafts and submits a new version of
``technical_support/password_reset``, a reviewer approves, the release manager publishes; the
clock starts when the publish response (``immediate``: 100 % at once, no staged rollout) arrives and stops when the bridge answers
``get_specific_sop`` with the new version number (polled every 5 ms over MCP). The bridge routes
by meaning: every other sample changes the summary (an item: one new text embedded, the
classifiers warm-started), the others only the content (the indexes are kept).

Then how long a bridge takes from its start to answering ``get_sop_for_question``: restarted on a
cache that holds the bundle and the SOP texts' vectors ("warm"), and on an empty cache ("cold":
it downloads the bundle and embeds every text). Both load the models.

    python bench/publish_latency.py [--samples 40]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, demo_stack

SOP = ("technical_support", "password_reset")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    latencies: list[float] = []
    with demo_stack(anchor=False) as stack:
        api = httpx.Client(base_url=stack.web_url + "/api/v1", timeout=30)
        tokens = {}
        for user in ("author", "reviewer", "release"):
            tokens[user] = api.post("/auth/token/", json={"username": user, "password": "demo"}).json()["token"]

        def as_(user: str) -> dict[str, str]:
            return {"Authorization": f"Token {tokens[user]}"}

        sop = api.get("/sops/", params={"category": SOP[0], "q": SOP[1]}, headers=as_("author")).json()["results"][0]
        mcp = httpx.Client(
            timeout=10,
            headers={"Authorization": f"Bearer {stack.agent_token}", "Accept": "application/json, text/event-stream"},
        )
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "get_specific_sop", "arguments": {"category": SOP[0], "sop_key": SOP[1]}},
        }

        question = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "get_sop_for_question", "arguments": {"question": "I forgot my password"}},
        }

        def served_version() -> int:
            body = mcp.post(stack.bridge_url, json=call).json()
            return json.loads(body["result"]["content"][0]["text"])["version"]

        for sample in range(args.samples):
            created = api.post(
                f"/sops/{sop['id']}/versions/",
                headers=as_("author"),
                json={
                    "content": f"## Steps\n1. Verify identity.\n2. Send a temporary password (revision {sample}).",
                    # every other sample changes an item (the summary): new text to embed, classifiers refitted
                    "summary": f"Use when a customer forgot their password (revision {sample // 2}).",
                    "change_note": f"benchmark sample {sample}",
                },
            ).json()
            vid = created["id"]
            api.post(f"/versions/{vid}/submit/", headers=as_("author")).raise_for_status()
            api.post(
                f"/versions/{vid}/approve/", headers=as_("reviewer"), json={"comment": "ok", "password": "demo"}
            ).raise_for_status()
            api.post(
                f"/versions/{vid}/publish/",
                headers=as_("release"),
                json={"reason": "bench", "immediate": True, "password": "demo"},
            ).raise_for_status()
            published = time.perf_counter()
            while served_version() != created["number"]:
                time.sleep(0.005)
            latencies.append((time.perf_counter() - published) * 1000)
            print(
                json.dumps(
                    {
                        "sample": sample,
                        "version": created["number"],
                        "changed": "summary" if sample % 2 == 0 else "content",
                        "latency_ms": round(latencies[-1], 1),
                    }
                ),
                flush=True,
            )
        # A bridge (re)started on the first one's cache (bundle and vectors), and one on an empty cache
        starts = {}
        for label, cache_dir in (("warm", stack.workdir / "bridge-warm"), ("cold", stack.workdir / "bridge-cold")):
            if label == "warm":  # fill it once, then time the restart
                stack.start_bridge(cache_dir=cache_dir)
                stack.processes[-1].terminate()
                stack.processes[-1].wait(10)
            started = time.perf_counter()
            url = stack.start_bridge(cache_dir=cache_dir)
            body = mcp.post(url, json=question).json()
            assert "sop_key" in json.loads(body["result"]["content"][0]["text"])
            starts[label] = round(time.perf_counter() - started, 2)
            stack.processes[-1].terminate()
            stack.processes[-1].wait(10)
        print(json.dumps({"bridge_start_to_first_answer_s": starts}), flush=True)
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    summary = {
        "samples": len(latencies),
        "p50_ms": round(q[49], 1),
        "p90_ms": round(q[89], 1),
        "p99_ms": round(q[98], 1),
        "max_ms": round(max(latencies), 1),
        "max_ms_summary_changed": round(max(latencies[0::2]), 1),
        "max_ms_content_changed": round(max(latencies[1::2]), 1),
        "poll_interval_ms": 250,
        "bridge_start_warm_cache_s": starts["warm"],
        "bridge_start_empty_cache_s": starts["cold"],
    }
    print(json.dumps(summary))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "publish_latency.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
