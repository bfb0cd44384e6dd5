"""Bridge settings, from environment variables (and the ``serve`` command's flags).

| variable | default | meaning |
| --- | --- | --- |
| ``SOPGOV_APP_URL`` | ``http://127.0.0.1:8000`` | the sopgov web app the bridge syncs from |
| ``SOPGOV_BRIDGE_TOKEN`` | (none) | agent token with the ``bridge:sync`` scope |
| ``SOPGOV_BRIDGE_HOST`` / ``SOPGOV_BRIDGE_PORT`` | ``127.0.0.1`` / ``8001`` | where ``/mcp`` listens |
| ``SOPGOV_BRIDGE_CACHE_DIR`` | ``.bridge-cache`` | last verified bundle, credentials, unsent call log |
| ``SOPGOV_BRIDGE_POLL_SECONDS`` | ``0.25`` | how often the bridge asks the app for a new bundle |
| ``SOPGOV_BRIDGE_FLUSH_SECONDS`` | ``1.0`` | how often tool-call records are sent to the app |
| ``SOPGOV_BRIDGE_ID`` | ``<hostname>:<port>`` | this bridge's name in the tool-call log |
| ``SOPGOV_BRIDGE_ALLOWED_HOSTS`` | (loopback) | comma-separated ``Host`` values accepted (DNS-rebinding protection) |
| ``SOPGOV_BRIDGE_WORKERS`` | ``1`` | uvicorn worker processes |
| ``SOPGOV_BRIDGE_GC_THRESHOLDS`` | ``20000,50,1000`` | CPython GC thresholds (``gc.set_threshold``) |
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BridgeConfig:
    """Everything the bridge process needs to know. Durations are in seconds."""

    app_url: str = "http://127.0.0.1:8000"
    bridge_token: str = ""
    host: str = "127.0.0.1"
    port: int = 8001
    cache_dir: Path = Path(".bridge-cache")
    poll_seconds: float = 0.25
    flush_seconds: float = 1.0
    bridge_id: str = ""
    allowed_hosts: list[str] = field(default_factory=list)
    workers: int = 1
    gc_thresholds: tuple[int, int, int] = (20000, 50, 1000)
    request_timeout: float = 5.0

    @classmethod
    def from_env(cls, **overrides: object) -> BridgeConfig:
        """Read the variables in the module docstring; ``overrides`` (non-None) win."""
        env = os.environ
        port = int(env.get("SOPGOV_BRIDGE_PORT", "8001"))
        values: dict[str, object] = {
            "app_url": env.get("SOPGOV_APP_URL", "http://127.0.0.1:8000").rstrip("/"),
            "bridge_token": env.get("SOPGOV_BRIDGE_TOKEN", ""),
            "host": env.get("SOPGOV_BRIDGE_HOST", "127.0.0.1"),
            "port": port,
            "cache_dir": Path(env.get("SOPGOV_BRIDGE_CACHE_DIR", ".bridge-cache")),
            "poll_seconds": float(env.get("SOPGOV_BRIDGE_POLL_SECONDS", "0.25")),
            "flush_seconds": float(env.get("SOPGOV_BRIDGE_FLUSH_SECONDS", "1.0")),
            "bridge_id": env.get("SOPGOV_BRIDGE_ID", ""),
            "allowed_hosts": [h.strip() for h in env.get("SOPGOV_BRIDGE_ALLOWED_HOSTS", "").split(",") if h.strip()],
            "workers": int(env.get("SOPGOV_BRIDGE_WORKERS", "1")),
            "gc_thresholds": tuple(int(x) for x in env.get("SOPGOV_BRIDGE_GC_THRESHOLDS", "20000,50,1000").split(",")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values["bridge_id"]:
            values["bridge_id"] = f"{socket.gethostname()}:{values['port']}"
        return cls(**values)  # type: ignore[arg-type]
