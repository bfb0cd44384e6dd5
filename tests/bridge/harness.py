"""Running real bridge processes against a real app for the bridge tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str, timeout: float = 2) -> int | None:
    """Return the status of ``GET url``, or ``None`` when nothing answers in ``timeout`` seconds."""
    try:
        return httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError:
        return None


def wait_until(predicate: Any, timeout: float, interval: float = 0.05, message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; return it or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class Bridge:
    """A ``python -m mcp_bridge serve`` process; ``url`` is its MCP endpoint."""

    def __init__(
        self, app_url: str, bridge_token: str, cache_dir: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.health_url = f"http://127.0.0.1:{self.port}/healthz"
        self.log = cache_dir / f"bridge-{self.port}.log"
        env = {
            **os.environ,
            "SOPGOV_APP_URL": app_url,
            "SOPGOV_BRIDGE_TOKEN": bridge_token,
            "SOPGOV_BRIDGE_CACHE_DIR": str(cache_dir),
            "SOPGOV_BRIDGE_PORT": str(self.port),
            "SOPGOV_BRIDGE_POLL_SECONDS": "0.1",
            "SOPGOV_BRIDGE_FLUSH_SECONDS": "0.2",
            **(extra_env or {}),
        }
        cache_dir.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mcp_bridge", "serve", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def health(self) -> dict[str, Any] | None:
        try:
            return httpx.get(self.health_url, timeout=1).json()
        except httpx.HTTPError:
            return None

    def wait_ready(self, *, synced: bool = True, timeout: float = 20) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"bridge exited: {self.log.read_text()[-2000:]}")
            health = self.health()
            if health and (not synced or health["last_sync_ok"]):
                return health
            return None

        return wait_until(ready, timeout, message="the bridge to start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log_file.close()


@contextmanager
def running_bridge(
    app_url: str, bridge_token: str, cache_dir: Path, *, synced: bool = True, **kwargs: Any
) -> Iterator[Bridge]:
    """Run a bridge for the ``with`` block; wait until it has synced with the app, unless
    ``synced=False`` (the app is expected to be unreachable)."""
    bridge = Bridge(app_url, bridge_token, cache_dir, **kwargs)
    try:
        bridge.wait_ready(synced=synced)
        yield bridge
    finally:
        bridge.stop()


@asynccontextmanager
async def mcp_session(url: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def post_tool(url: str, token: str | None, name: str, arguments: Any) -> tuple[int, dict[str, Any]]:
    """One stateless JSON-RPC ``tools/call`` over HTTP; return (status, body)."""
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    response = httpx.post(url, json=body, headers=headers, timeout=10)
    return response.status_code, response.json()


def reply_of(body: dict[str, Any]) -> tuple[bool, Any]:
    """Return ``(is_error, payload)`` of a tools/call JSON-RPC response."""
    result = body["result"]
    text = result["content"][0]["text"] if result["content"] else "null"
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        payload = text
    return result.get("isError", False), payload
