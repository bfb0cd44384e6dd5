"""Bridge throughput with per-call canary resolution vs. without, in one run.

``technical_support/password_reset`` is put in a rollout (a candidate at 5 %). wrk then calls
``get_specific_sop`` on it alternately without a routing key (no resolution: stable) and with a
routing key whose bucket is above 5 (resolved on every call — murmur3 of salt and key — and
served stable, so both replies are the same size), ``--rounds`` times each. The difference is
the cost of canary resolution.

    python bench/canary_overhead.py [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
from bridge_throughput import wrk  # noqa: E402
from stack import ROOT, demo_stack  # noqa: E402

from mcp_bridge.bucketing import bucket  # noqa: E402

SOP = {"category": "technical_support", "sop_key": "password_reset"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with demo_stack(anchor=False) as stack:
        api = httpx.Client(base_url=stack.web_url + "/api/v1", timeout=30)
        tokens = {
            u: api.post("/auth/token/", json={"username": u, "password": "demo"}).json()["token"]
            for u in ("author", "reviewer", "release")
        }

        def as_(user: str) -> dict[str, str]:
            return {"Authorization": f"Token {tokens[user]}"}

        sop = api.get(
            "/sops/", params={"category": SOP["category"], "q": SOP["sop_key"]}, headers=as_("author")
        ).json()["results"][0]
        version = api.post(
            f"/sops/{sop['id']}/versions/",
            headers=as_("author"),
            json={
                "content": "## Steps\n1. Verify identity.\n2. Send a temporary password by SMS.",
                "summary": "Use when a customer forgot their password.",
                "change_note": "benchmark candidate",
            },
        ).json()
        api.post(f"/versions/{version['id']}/submit/", headers=as_("author")).raise_for_status()
        api.post(
            f"/versions/{version['id']}/approve/", headers=as_("reviewer"), json={"password": "demo"}
        ).raise_for_status()
        published = api.post(
            f"/versions/{version['id']}/publish/", headers=as_("release"), json={"reason": "bench", "password": "demo"}
        ).json()
        assert published["status"] == "canary", published
        salt = stack.manage(
            "shell", "-c", f"from apps.sops.models import SOP; print(SOP.objects.get(pk={sop['id']}).salt)"
        ).split()[-1]
        key = next(f"conversation-{i}" for i in range(1000) if bucket(salt, f"conversation-{i}") > 5)
        time.sleep(1)  # let the bridge pick up the bundle with the canary
        auth = f"Bearer {stack.agent_token}"
        runs: dict[str, list[dict[str, float]]] = {"without routing key": [], "with routing key (resolved)": []}
        for round_number in range(1, args.rounds + 1):
            for name, extra in (("without routing key", {}), ("with routing key (resolved)", {"routing_key": key})):
                measured = wrk(
                    stack.bridge_url, "get_specific_sop", {**SOP, **extra}, '\\"version\\": 1', args.seconds, auth
                )
                runs[name].append(measured)
                print(json.dumps({"round": round_number, "case": name, **measured}), flush=True)
    base = statistics.median(r["rps"] for r in runs["without routing key"])
    resolved = statistics.median(r["rps"] for r in runs["with routing key (resolved)"])
    summary = {
        name: {
            "rps": round(statistics.median(r["rps"] for r in rs), 1),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in rs), 2),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in rs), 2),
        }
        for name, rs in runs.items()
    }
    summary["overhead_percent"] = round(100 * (1 - resolved / base), 2)
    print(json.dumps(summary))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "canary_overhead.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
