"""The bundle: an immutable, sha256-addressed snapshot of what agents may be served.

Written by the app (``apps.publishing``), read and verified by the bridge. Shape::

    {
      "format": "sopgov.bundle/1",
      "categories": [{"slug": "billing", "name": "Billing", "description": "..."}],
      "sops": [{"category": "billing", "key": "refund_policy", "title": "...", "salt": "9f0c…",
                "summary": "...", "example_questions": ["..."], "version": 3,
                "version_id": 17, "content": "...markdown...", "content_sha256": "...",
                "canary": {"version": 4, "version_id": 21, "summary": "...", "example_questions": [],
                           "content": "...", "content_sha256": "...", "percentage": 10}}]
    }

Each entry is the SOP's stable (live) version; ``canary`` is present while a rollout serves a
candidate to ``percentage`` % of conversations (``bucketing``). ``salt`` seeds the SOP's
bucketing. Bridges that predate ``canary`` ignore it and serve stable, which is safe.

Lists are sorted (categories by slug, SOPs by category then key). The bundle's id is the hex
sha256 of its canonical encoding: JSON with sorted keys, no insignificant whitespace, UTF-8,
non-ASCII characters kept as they are. Values are only strings, integers, lists and objects,
for which this encoding coincides with RFC 8785 (JSON Canonicalization Scheme).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

BUNDLE_FORMAT = "sopgov.bundle/1"


class BundleError(ValueError):
    """A bundle failed verification: wrong hash, unknown format or malformed content."""


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    """Return the canonical UTF-8 encoding of ``payload`` (see the module docstring)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def bundle_sha256(raw: bytes) -> str:
    """Return the hex sha256 of the canonical bytes ``raw`` (the bundle's id)."""
    return hashlib.sha256(raw).hexdigest()


def parse_and_verify(raw: bytes, expected_sha256: str | None = None) -> dict[str, Any]:
    """Parse a bundle and check it; return the payload.

    Args:
        raw: the bundle's canonical bytes.
        expected_sha256: the id it was published under; when given, the bytes must hash to it.

    Raises:
        BundleError: hash mismatch, not JSON, not canonical, unknown ``format``, or an SOP entry
            missing fields or whose ``content_sha256`` does not match its content.
    """
    digest = bundle_sha256(raw)
    if expected_sha256 is not None and digest != expected_sha256:
        raise BundleError(f"bundle hash mismatch: expected {expected_sha256}, got {digest}")
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"bundle is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"unknown bundle format {payload.get('format') if isinstance(payload, dict) else None!r}")
    if canonical_bytes(payload) != raw:
        raise BundleError("bundle is not in canonical form")
    for entry in payload.get("sops", []):
        missing = {"category", "key", "title", "summary", "content", "content_sha256", "version"} - set(entry)
        if missing:
            raise BundleError(f"SOP entry lacks {sorted(missing)}")
        versions = [entry] + ([entry["canary"]] if isinstance(entry.get("canary"), dict) else [])
        for version in versions:
            if hashlib.sha256(str(version.get("content", "")).encode("utf-8")).hexdigest() != version.get(
                "content_sha256"
            ):
                raise BundleError(
                    f"content hash mismatch for {entry['category']}/{entry['key']} v{version.get('version')}"
                )
        canary = entry.get("canary")
        if canary is not None and not (isinstance(canary.get("percentage"), int) and 0 <= canary["percentage"] <= 100):
            raise BundleError(f"canary of {entry['category']}/{entry['key']} has no valid percentage")
    return payload
