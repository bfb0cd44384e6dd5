"""HTTP calls from the bridge to the sopgov app (httpx2, the MCP SDK's HTTP client)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx2

from .bundle_format import BundleError

logger = logging.getLogger(__name__)


class TelemetryRefused(Exception):
    """The app answered a telemetry batch with 400 or 413: sending it again would get the same answer."""


class AppUnavailable(Exception):
    """The app could not be reached or answered with a server error."""


class AppClient:
    """The app's bridge endpoints, authenticated with the bridge's ``bridge:sync`` token."""

    def __init__(self, base_url: str, bridge_token: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {bridge_token}"} if bridge_token else {}
        self._client = httpx2.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            response = await self._client.request(method, self.base_url + path, headers=headers, **kwargs)
        except httpx2.HTTPError as exc:
            raise AppUnavailable(f"{method} {path}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise AppUnavailable(f"{method} {path}: HTTP {response.status_code}")
        return response

    async def fetch_bundle(self, current_sha256: str | None) -> tuple[str, bytes] | None:
        """Return ``(sha256, bytes)`` of the app's current bundle if it differs from
        ``current_sha256``; ``None`` when unchanged or nothing is published yet.

        Raises:
            AppUnavailable: network error, 5xx, or the bridge token is refused (401/403).
            BundleError: the response lacks its hash.
        """
        headers = {"If-None-Match": f'"{current_sha256}"'} if current_sha256 else {}
        response = await self._request("GET", "/api/v1/bridge/bundle/", headers=headers)
        if response.status_code in (304, 404):
            return None
        if response.status_code in (401, 403):
            raise AppUnavailable(f"bundle refused: HTTP {response.status_code} (check SOPGOV_BRIDGE_TOKEN)")
        sha = response.headers.get("x-bundle-sha256") or response.headers.get("etag", "").strip('"')
        if not sha:
            raise BundleError("bundle response has no hash")
        return sha, response.content

    async def fetch_credentials(self, etag: str | None) -> tuple[str, dict[str, Any]] | None:
        """Return ``(etag, snapshot)`` if the credentials changed since ``etag``, else ``None``."""
        headers = {"If-None-Match": f'"{etag}"'} if etag else {}
        response = await self._request("GET", "/api/v1/bridge/credentials/", headers=headers)
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise AppUnavailable(f"credentials refused: HTTP {response.status_code} (check SOPGOV_BRIDGE_TOKEN)")
        return response.headers.get("etag", "").strip('"'), json.loads(response.content)

    async def post_telemetry(self, bridge_id: str, records: list[dict[str, Any]]) -> int:
        """Send tool-call and outcome records (``kind`` ``call`` / ``outcome``); return how many the
        app stored as new. Records the app rejects as malformed are logged and not re-sent.

        Raises:
            AppUnavailable: not delivered (the caller keeps the records).
            TelemetryRefused: the app refused the batch as invalid (the caller sets it aside).
        """
        body = {
            "bridge_id": bridge_id,
            "calls": [r for r in records if r.get("kind", "call") == "call"],
            "outcomes": [r for r in records if r.get("kind") == "outcome"],
        }
        response = await self._request("POST", "/api/v1/bridge/telemetry/", json=body)
        if response.status_code in (400, 413):
            raise TelemetryRefused(f"HTTP {response.status_code} {response.text[:200]}")
        if response.status_code != 200:
            raise AppUnavailable(f"telemetry refused: HTTP {response.status_code} {response.text[:200]}")
        data = response.json()
        for rejected in data.get("rejected", []):
            logger.error("the app rejected a telemetry record: %s", rejected)
        return int(data.get("stored", 0))

    async def post_heartbeat(self, heartbeat: dict[str, Any]) -> None:
        """Report which bundle and tool descriptions this bridge serves.

        Raises:
            AppUnavailable: not delivered.
        """
        response = await self._request("POST", "/api/v1/bridge/heartbeat/", json=heartbeat)
        if response.status_code != 200:
            raise AppUnavailable(f"heartbeat refused: HTTP {response.status_code}")

    async def propose(self, agent_token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Post an agent's proposal with the agent's own token; return ``(status, body)``."""
        response = await self._request(
            "POST", "/api/v1/agent/proposals/", json=body, headers={"Authorization": f"Bearer {agent_token}"}
        )
        try:
            data = response.json()
        except ValueError:
            data = {"detail": response.text[:500]}
        return response.status_code, data
