"""The bridge's disk cache: the last verified bundle and credentials, written atomically, so a
restarted bridge serves at once even when the app or its database is down."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from .bundle_format import BundleError
from .library import Library

logger = logging.getLogger(__name__)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DiskCache:
    """Files under ``root``: ``bundle.json`` + ``bundle.sha256``, and ``credentials.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save_bundle(self, raw: bytes, sha256: str) -> None:
        """Store a verified bundle as the one to start from (bytes first, then its hash)."""
        _write_atomic(self.root / "bundle.json", raw)
        _write_atomic(self.root / "bundle.sha256", sha256.encode())

    def load_bundle(self, engine: Any = None) -> Library | None:
        """Return the cached bundle if it is there and still verifies (indexed with ``engine``,
        see ``Library``), else ``None``."""
        try:
            raw = (self.root / "bundle.json").read_bytes()
            sha = (self.root / "bundle.sha256").read_text().strip()
        except FileNotFoundError:
            return None
        try:
            return Library.from_bytes(raw, sha, engine=engine)
        except BundleError as exc:
            logger.error("cached bundle rejected: %s", exc)
            return None

    def save_credentials(self, snapshot: dict[str, Any]) -> None:
        """Store the credentials snapshot (hashes and scopes only, no secret)."""
        _write_atomic(self.root / "credentials.json", json.dumps(snapshot).encode())

    def load_credentials(self) -> dict[str, Any] | None:
        """Return the cached credentials snapshot, or ``None``."""
        try:
            return json.loads((self.root / "credentials.json").read_bytes())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
