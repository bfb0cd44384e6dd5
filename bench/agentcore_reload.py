"""How long a bridge on AgentCore takes to serve a bundle after the SSM pointer moves.

The bridge runs as in the image (``SOPGOV_BUNDLE_SOURCE=ssm``, platform auth) against moto's
S3 and SSM server. Each sample uploads a new bundle (the demo library with one SOP changed)
under its sha256, moves the pointer, and times until ``/healthz`` reports the new bundle
(polled every 20 ms). Publishes are spread at random over the poll cycle, as they come
in real use. Run side by side for two poll intervals: the default (5 s) and 1 s.
Expected: uniform over one interval plus an S3 read; the documented bound is 10 s.

    python bench/agentcore_reload.py [--samples 20] [--intervals 5,1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mcp_bridge.bundle_format import BUNDLE_FORMAT, bundle_sha256, canonical_bytes  # noqa: E402

REGION, BUCKET, PARAMETER = "us-west-2", "sopgov-bench", "/mcp_server/customer_service_sop/bundle"
LIBRARY = ROOT / "apps" / "demo" / "library" / "customer_service.json"


def bundle(sample: int) -> bytes:
    """The demo library as a bundle, with the first SOP's content changed by ``sample``."""
    rows = json.loads(LIBRARY.read_text())
    sops, categories = [], {}
    for i, row in enumerate(rows):
        content = row["content"] + (f"\n\n<!-- bench sample {sample} -->" if i == 0 else "")
        categories[row["category"]] = {"slug": row["category"], "name": row["category"].title(), "description": ""}
        sops.append(
            {
                "category": row["category"],
                "key": row["key"],
                "title": row.get("title", row["key"]),
                "salt": "0" * 16,
                "summary": row.get("summary", ""),
                "example_questions": row.get("example_questions", []),
                "version": sample + 1,
                "version_id": sample + 1,
                "content": content,
                "content_sha256": hashlib.sha256(content.encode()).hexdigest(),
            }
        )
    sops.sort(key=lambda s: (s["category"], s["key"]))
    return canonical_bytes(
        {"format": BUNDLE_FORMAT, "categories": sorted(categories.values(), key=lambda c: c["slug"]), "sops": sops}
    )


def publish(s3: object, ssm: object, raw: bytes) -> str:
    sha = bundle_sha256(raw)
    key = f"sopgov/bundles/{sha}.json"
    version = s3.put_object(Bucket=BUCKET, Key=key, Body=raw)["VersionId"]  # type: ignore[attr-defined]
    ssm.put_parameter(
        Name=PARAMETER,
        Overwrite=True,
        Type="String",  # type: ignore[attr-defined]
        Value=json.dumps({"bucket": BUCKET, "key": key, "version_id": version, "sha256": sha}),
    )
    return sha


def measure(endpoint: str, interval: float, samples: int, offset: int) -> list[float]:
    port = 18900 + int(interval * 10)
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": REGION,
        "SOPGOV_BUNDLE_SOURCE": "ssm",
        "SOPGOV_BUNDLE_SSM_PARAMETER": PARAMETER,
        "SOPGOV_BRIDGE_AUTH": "none",
        "SOPGOV_BRIDGE_POLL_SECONDS": str(interval),
        "SOPGOV_BRIDGE_TOKEN": "",
        "SOPGOV_BRIDGE_PORT": str(port),
        "SOPGOV_BRIDGE_CACHE_DIR": f"/tmp/sopgov-bench-reload-{port}",
    }
    bridge = subprocess.Popen(
        [sys.executable, "-m", "mcp_bridge", "serve", "--log-level", "warning"], cwd=ROOT, env=env
    )
    s3, ssm = boto3.client("s3", region_name=REGION), boto3.client("ssm", region_name=REGION)
    health = f"http://127.0.0.1:{port}/healthz"
    try:
        for _ in range(300):
            try:
                if httpx.get(health, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        latencies = []
        rng = random.Random(offset)
        for sample in range(samples):
            time.sleep(rng.uniform(0, interval))  # publishes come at any point of the bridge's poll cycle
            sha = publish(s3, ssm, bundle(offset + sample))
            moved = time.monotonic()
            while httpx.get(health, timeout=2).json()["bundle_sha256"] != sha:
                time.sleep(0.02)
            latencies.append(time.monotonic() - moved)
        return latencies
    finally:
        bridge.terminate()
        bridge.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--intervals", default="5,1", help="poll intervals to compare, seconds")
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION})
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    print(f"pointer moved → bridge serving the new bundle, {args.samples} samples per interval (seconds)")
    print(f"{'poll interval':>14} {'p50':>6} {'p95':>6} {'max':>6} {'mean':>6}  bound 10 s")
    try:
        for n, interval in enumerate(float(x) for x in args.intervals.split(",")):
            times = sorted(measure(endpoint, interval, args.samples, offset=n * 1000))
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(
                f"{interval:>14.1f} {statistics.median(times):6.2f} {p95:6.2f} {times[-1]:6.2f} "
                f"{statistics.mean(times):6.2f}  {'ok' if times[-1] <= 10 else 'EXCEEDED'}"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
