"""The bridge's live state (library, credentials) and the loops that keep it current."""

from __future__ import annotations

import logging
import time
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


class BridgeState:
    """What the bridge serves now. ``library`` and ``credentials`` are replaced whole (a single
    reference assignment), so a request sees one consistent bundle from start to end."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.cache = DiskCache(config.cache_dir)
        self.library: Library = Library.empty()
        self.current = Credentials()
        self.credentials_etag: str | None = None
        self.calls = CallLog(config.cache_dir / "calls.jsonl")
        self.app = AppClient(config.app_url, config.bridge_token, config.request_timeout)
        self.started_at = time.time()
        self.last_sync_ok: float | None = None
        self.last_error: str = ""
        self.bundle_changed_at: float | None = None

    def load_cache(self) -> None:
        """Serve the last verified bundle and credentials from disk, if any (at start-up)."""
        cached = self.cache.load_bundle()
        if cached is not None:
            self.library = cached
            logger.info("serving cached bundle %s (%d SOPs)", cached.sha256[:12], len(cached.sops))
        snapshot = self.cache.load_credentials()
        if snapshot is not None:
            self.current = Credentials(snapshot)

    async def sync_once(self) -> bool:
        """Fetch a newer bundle and credentials from the app; return whether the bundle changed.

        A bundle that fails verification is rejected and the current one kept.

        Raises:
            AppUnavailable: the app could not be reached (the caller keeps serving).
        """
        changed = False
        fetched = await self.app.fetch_bundle(self.library.sha256)
        if fetched is not None:
            sha, raw = fetched
            try:
                library = await anyio.to_thread.run_sync(Library.from_bytes, raw, sha)
            except BundleError as exc:
                self.last_error = f"bundle rejected: {exc}"
                logger.error(self.last_error)
            else:
                await anyio.to_thread.run_sync(self.cache.save_bundle, raw, sha)
                self.library = library
                self.bundle_changed_at = time.time()
                changed = True
                logger.info("now serving bundle %s (%d SOPs)", sha[:12], len(library.sops))
        credentials = await self.app.fetch_credentials(self.credentials_etag)
        if credentials is not None:
            etag, snapshot = credentials
            self.current = Credentials(snapshot)
            self.credentials_etag = etag
            await anyio.to_thread.run_sync(self.cache.save_credentials, snapshot)
        self.last_sync_ok = time.time()
        self.last_error = ""
        return changed

    async def sync_forever(self) -> None:
        """Poll the app every ``poll_seconds``; on failure keep serving and back off to 5 s."""
        delay = self.config.poll_seconds
        while True:
            try:
                await self.sync_once()
                delay = self.config.poll_seconds
            except (AppUnavailable, BundleError, ValueError) as exc:
                if self.last_error != str(exc):
                    logger.warning("app unreachable, serving bundle %s: %s", self.library.sha256[:12], exc)
                self.last_error = str(exc)
                delay = min(max(delay * 2, self.config.poll_seconds), 5.0)
            await anyio.sleep(delay)

    async def ship_calls_forever(self) -> None:
        """Send the tool-call log to the app every ``flush_seconds``."""
        while True:
            await anyio.sleep(self.config.flush_seconds)
            try:
                await self.calls.flush(self.app, self.config.bridge_id)
            except Exception:
                logger.exception("tool-call shipping failed")

    def health(self) -> dict[str, Any]:
        """Return the bridge's status for ``/healthz``."""
        return {
            "status": "ok",
            "bridge_id": self.config.bridge_id,
            "bundle_sha256": self.library.sha256,
            "sops": len(self.library.sops),
            "app_reachable": not self.last_error,
            "last_error": self.last_error,
            "last_sync_ok": self.last_sync_ok,
            "calls_buffered": len(self.calls.buffer),
            "calls_sent": self.calls.sent,
        }
