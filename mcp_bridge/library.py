"""A verified bundle, indexed for serving: lookups by ``category/key`` and the router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .bundle_format import BUNDLE_FORMAT, bundle_sha256, canonical_bytes, parse_and_verify
from .routing import RoutableSOP, Router


@dataclass(frozen=True)
class LiveSOP:
    """One live SOP version as agents are served it."""

    category: str
    key: str
    title: str
    summary: str
    example_questions: tuple[str, ...]
    version: int
    version_id: int | None
    content: str
    content_sha256: str

    @property
    def slug(self) -> str:
        """Return ``category/key``."""
        return f"{self.category}/{self.key}"


class Library:
    """The live SOPs of one bundle. Immutable; the bridge swaps whole libraries."""

    def __init__(self, payload: dict[str, Any], sha256: str) -> None:
        self.sha256 = sha256
        self.sops: list[LiveSOP] = [
            LiveSOP(
                category=e["category"],
                key=e["key"],
                title=e["title"],
                summary=e["summary"],
                example_questions=tuple(e.get("example_questions", ())),
                version=int(e["version"]),
                version_id=e.get("version_id"),
                content=e["content"],
                content_sha256=e["content_sha256"],
            )
            for e in payload.get("sops", [])
        ]
        self.by_slug: dict[tuple[str, str], LiveSOP] = {(s.category, s.key): s for s in self.sops}
        self.by_category: dict[str, list[LiveSOP]] = {}
        for sop in self.sops:
            self.by_category.setdefault(sop.category, []).append(sop)
        self.categories: list[str] = list(self.by_category)
        self.router = Router(
            [RoutableSOP(s.category, s.key, s.title, s.summary, s.content, s.example_questions) for s in self.sops]
        )

    @classmethod
    def from_bytes(cls, raw: bytes, expected_sha256: str | None = None) -> Library:
        """Verify ``raw`` (``bundle_format.parse_and_verify``) and index it.

        Raises:
            BundleError: the bundle does not verify.
        """
        payload = parse_and_verify(raw, expected_sha256)
        return cls(payload, bundle_sha256(raw))

    @classmethod
    def empty(cls) -> Library:
        """Return a library with nothing live (before the first bundle arrives)."""
        payload = {"format": BUNDLE_FORMAT, "categories": [], "sops": []}
        return cls(payload, bundle_sha256(canonical_bytes(payload)))

    def get(self, category: str, key: str) -> LiveSOP | None:
        """Return the live SOP ``category/key`` or ``None``."""
        return self.by_slug.get((category, key))
