"""A throw-away sopgov stack for benchmarks: the demo library in SQLite, the web app under
gunicorn, the MCP bridge, and the seed-style anchor server in its own ``mcp<2`` venv.

Not a test helper: benchmarks print numbers; they assert nothing about speed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCH = Path(os.environ.get("SOPGOV_SHARED_BENCH", ROOT.parent / "shared" / "bench"))
ANCHOR_VENV = ROOT / "bench" / ".venv-anchor"
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60, check: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if not check or check in response.read().decode():
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout}s")


def anchor_python() -> Path:
    """Return the anchor venv's python, creating the venv (``mcp<2``) on first use."""
    python = ANCHOR_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ANCHOR_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "mcp<2"], check=True, stderr=subprocess.DEVNULL)
    return python


@dataclass
class Stack:
    workdir: Path
    env: dict[str, str]
    web_url: str = ""
    bridge_url: str = ""
    anchor_url: str = ""
    agent_token: str = ""
    bridge_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def manage(self, *args: str) -> str:
        done = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        return done.stdout

    def spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("w")
        process = subprocess.Popen(cmd, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_bridge(
        self,
        workers: int = 1,
        gc_thresholds: str | None = None,
        cache_dir: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> str:
        port = free_port()
        tokens = dict(line.split("=", 1) for line in (self.workdir / "tokens.env").read_text().split())
        env = {
            **self.env,
            **self.bridge_env,
            "SOPGOV_APP_URL": self.web_url,
            "SOPGOV_BRIDGE_TOKEN": tokens["SOPGOV_BRIDGE_TOKEN"],
            "SOPGOV_BRIDGE_CACHE_DIR": str(cache_dir or self.workdir / f"bridge-{port}"),
            "SOPGOV_BRIDGE_PORT": str(port),
            "SOPGOV_BRIDGE_WORKERS": str(workers),
        }
        if gc_thresholds:
            env["SOPGOV_BRIDGE_GC_THRESHOLDS"] = gc_thresholds
        env.update(extra_env or {})
        self.spawn(f"bridge-{port}", [PY, "-m", "mcp_bridge", "serve", "--log-level", "warning"], env)
        wait_http(f"http://127.0.0.1:{port}/healthz", check='"app_reachable":true')
        return f"http://127.0.0.1:{port}/mcp"

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def demo_stack(
    *, bridge: bool = True, anchor: bool = True, bridge_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """Start the demo stack; yield it; stop everything and delete the temporary files.
    ``bridge_env``: variables for every bridge started (``Stack.start_bridge``)."""
    workdir = Path(tempfile.mkdtemp(prefix="sopgov-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sopgov.settings.local",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3"),
        "REDIS_URL": "",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "SOPGOV_DEMO_PASSWORD": "demo",
        "LOG_LEVEL": "WARNING",
    }
    stack = Stack(workdir, env, bridge_env=dict(bridge_env or {}))
    try:
        stack.manage("migrate", "--no-input", "-v", "0")
        stack.manage("load_demo", "--tokens-file", str(workdir / "tokens.env"))
        tokens = dict(line.split("=", 1) for line in (workdir / "tokens.env").read_text().split())
        stack.agent_token = tokens["SOPGOV_AGENT_TOKEN"]
        web_port = free_port()
        stack.spawn("web", [PY, "-m", "gunicorn", "sopgov.wsgi", "-b", f"127.0.0.1:{web_port}", "-w", "2"])
        stack.web_url = f"http://127.0.0.1:{web_port}"
        wait_http(stack.web_url + "/healthz")
        if bridge:
            stack.bridge_url = stack.start_bridge()
        if anchor:
            port = free_port()
            stack.spawn("anchor", [str(anchor_python()), str(SHARED_BENCH / "seed_anchor_server.py"), str(port)])
            stack.anchor_url = f"http://127.0.0.1:{port}/mcp"
            _wait_anchor(stack.anchor_url)
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_anchor(url: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}).encode()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(
                url,
                data=body,
                headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
            )
            with urllib.request.urlopen(request, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the anchor server did not start")
