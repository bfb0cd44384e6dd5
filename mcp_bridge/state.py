"""The bridge's live state (library, credentials) and the loops that keep it current."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import anyio

from .app_client import AppClient, AppUnavailable
from .auth import Credentials
from .bundle_format import BundleError
from .cache import DiskCache
from .calllog import CallLog
from .config import BridgeConfig
from .library import Library

logger = logging.getLogger(__name__)
telemetry_log = logging.getLogger("mcp_bridge.telemetry")


class BridgeState:
    """What the bridge serves now. ``library`` and ``credentials`` are replaced whole (a single
    reference assignment), so a request sees one consistent bundle from start to end.

    The bundle comes from the app (``bundle_source="app"``: polled with ``If-None-Match``) or,
    on AgentCore Runtime, from an SSM parameter pointing at S3 (``"ssm"``). Telemetry goes to the
    app when the bridge has a ``bridge:sync`` token, else to the log as JSON lines.
    """

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.cache = DiskCache(config.cache_dir)
        self.library: Library = Library.empty()
        self.current = Credentials()
        self.credentials_etag: str | None = None
        self.calls = CallLog(config.cache_dir / "calls.jsonl")
        self.app = AppClient(config.app_url, config.bridge_token, config.request_timeout)
        self.ssm_source: Any = None
        self.started_at = time.time()
        self.last_sync_ok: float | None = None
        self.last_error: str = ""
        self.bundle_changed_at: float | None = None
        self.tools_sha256: str = ""
        self.rejected_bundle: str = ""  # the last bundle that failed verification, until one passes
        self.engine: Any = None
        # awaited with (previous, new) library after each bundle change (session notifications)
        self.bundle_listeners: list[Any] = []
        if config.routing == "semantic":
            from .semantic import default_engine

            self.engine = default_engine(config.cache_dir / "embeddings")

    @property
    def ships_to_app(self) -> bool:
        """Return whether telemetry and heartbeats go to the app (the bridge has a token for it)."""
        return bool(self.config.bridge_token)

    def load_cache(self) -> None:
        """Serve the last verified bundle and credentials from disk, if any, and spool the tool
        calls a killed bridge left in its journal (at start-up)."""
        self.calls.recover_journals()
        cached = self.cache.load_bundle(self.engine)
        if cached is not None:
            self.library = cached
            # when it was fetched: the cached file's time (a restart does not make the bundle new)
            self.bundle_changed_at = (self.cache.root / "bundle.json").stat().st_mtime
            logger.info("serving cached bundle %s (%d SOPs)", cached.sha256[:12], len(cached.sops))
        snapshot = self.cache.load_credentials()
        if snapshot is not None:
            self.current = Credentials(snapshot)

    async def _fetch_bundle(self) -> tuple[str, bytes] | None:
        if self.config.bundle_source == "ssm":
            if self.ssm_source is None:
                from .aws import SsmBundleSource

                self.ssm_source = SsmBundleSource(self.config.bundle_ssm_parameter, self.config.aws_region or None)
            return await anyio.to_thread.run_sync(self.ssm_source.fetch, self.library.sha256)
        return await self.app.fetch_bundle(self.library.sha256)

    async def sync_once(self) -> bool:
        """Fetch a newer bundle (and, with token auth, the credentials); return whether the
        bundle changed. A bundle that fails verification is rejected and the current one kept.

        Raises:
            AppUnavailable, OSError: the source could not be reached (the caller keeps serving).
        """
        changed = False
        fetched = await self._fetch_bundle()
        if fetched is not None:
            sha, raw = fetched
            try:
                library = await anyio.to_thread.run_sync(Library.from_bytes, raw, sha, self.engine, self.library)
            except BundleError as exc:
                self.rejected_bundle = f"{sha[:12]}: {exc}"
                logger.error("bundle %s rejected, still serving %s: %s", sha[:12], self.library.sha256[:12], exc)
            else:
                await anyio.to_thread.run_sync(self.cache.save_bundle, raw, sha)
                self.rejected_bundle = ""
                previous, self.library = self.library, library
                self.bundle_changed_at = time.time()
                changed = True
                logger.info("now serving bundle %s (%d SOPs)", sha[:12], len(library.sops))
                for listener in self.bundle_listeners:
                    await listener(previous, library)
        if self.config.auth == "tokens":
            credentials = await self.app.fetch_credentials(self.credentials_etag)
            if credentials is not None:
                etag, snapshot = credentials
                self.current = Credentials(snapshot)
                self.credentials_etag = etag
                await anyio.to_thread.run_sync(self.cache.save_credentials, snapshot)
        self.last_sync_ok = time.time()
        self.last_error = ""
        return changed

    async def first_sync(self, timeout: float) -> None:
        """Try once to fetch the bundle, for at most ``timeout`` seconds; failures are logged and
        the bridge starts anyway (``sync_forever`` keeps trying)."""
        with anyio.move_on_after(timeout):
            try:
                await self.sync_once()
            except (AppUnavailable, BundleError, OSError, ValueError) as exc:
                self.last_error = str(exc)
                logger.warning("no bundle at start-up (%s); serving nothing until the source answers", exc)

    async def sync_forever(self) -> None:
        """Poll the source every ``poll_seconds``; on failure keep serving and back off to 5 s."""
        delay = self.config.poll_seconds
        while True:
            try:
                await self.sync_once()
                delay = self.config.poll_seconds
            except (AppUnavailable, BundleError, OSError, ValueError) as exc:
                if self.last_error != str(exc):
                    logger.warning("bundle source unreachable, serving bundle %s: %s", self.library.sha256[:12], exc)
                self.last_error = str(exc)
                delay = min(max(delay * 2, self.config.poll_seconds), max(5.0, self.config.poll_seconds))
            await anyio.sleep(delay)

    async def ship_calls_forever(self) -> None:
        """Send the telemetry to the app every ``flush_seconds`` (or log it, without an app)."""
        while True:
            await anyio.sleep(self.config.flush_seconds)
            try:
                if self.ships_to_app:
                    await self.calls.flush(self.app, self.config.bridge_id)
                else:
                    self.log_calls()
            except Exception:
                logger.exception("telemetry shipping failed")

    def log_calls(self) -> None:
        """Write the buffered telemetry to the ``mcp_bridge.telemetry`` log, one JSON object a line
        (bridges without an app, e.g. on AgentCore Runtime, where the log goes to CloudWatch)."""
        for record in self.calls.drain():
            telemetry_log.info(json.dumps(record, sort_keys=True))

    async def heartbeat_forever(self) -> None:
        """Tell the app every ``heartbeat_seconds`` which bundle and tool descriptions this bridge serves."""
        if not self.ships_to_app:
            return
        while True:
            try:
                await self.app.post_heartbeat(self.heartbeat())
            except AppUnavailable as exc:
                logger.debug("heartbeat not delivered: %s", exc)
            await anyio.sleep(self.config.heartbeat_seconds)

    def heartbeat(self) -> dict[str, Any]:
        """Return this bridge's heartbeat (``POST /api/v1/bridge/heartbeat/``)."""
        from . import __version__

        return {
            "bridge_id": self.config.bridge_id,
            "bundle_sha256": self.library.sha256,
            "tools_sha256": self.tools_sha256,
            "bridge_version": __version__,
            "started_at": datetime.fromtimestamp(self.started_at, UTC).isoformat(),
            "app_reachable": not self.last_error,
        }

    def health(self) -> dict[str, Any]:
        """Return the bridge's status for ``/healthz``: ``status`` is ``"degraded"`` while tool
        calls wait on disk because telemetry cannot be delivered (``telemetry_error`` says why)."""
        spooled = self.calls.spooled()
        return {
            "status": "degraded" if spooled and self.calls.last_error else "ok",
            "bridge_id": self.config.bridge_id,
            "bundle_sha256": self.library.sha256,
            "tools_sha256": self.tools_sha256,
            "sops": len(self.library.sops),
            "bundle_source": self.config.bundle_source,
            "app_reachable": not self.last_error,
            "last_error": self.last_error,
            "rejected_bundle": self.rejected_bundle,
            "last_sync_ok": self.last_sync_ok,
            "calls_buffered": len(self.calls.buffer),
            "calls_spooled": spooled,
            "calls_sent": self.calls.sent,
            "calls_refused": self.calls.refused,
            "telemetry_error": self.calls.last_error,
            "routing": {
                name: {"model": index.encoder.name, "threshold": round(index.threshold, 4)}
                for name, index in self.library.router.semantic.items()
            }
            or "lexical",
        }
