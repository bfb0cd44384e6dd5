"""``make bench``: every benchmark, one after the other (each prints its own numbers)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in (
    "rollout_gates.py",
    "diff_scale.py",
    "routing_accuracy.py",
    "publish_latency.py",
    "bridge_throughput.py",
    "canary_overhead.py",
    "tracing_overhead.py",
    "agentcore_reload.py",
    "audit_scale.py",
):
    print(f"\n=== {script} ===", flush=True)
    extra = sys.argv[1:] if script in ("bridge_throughput.py", "canary_overhead.py") else []
    subprocess.run([sys.executable, str(HERE / script), *extra], check=True)
