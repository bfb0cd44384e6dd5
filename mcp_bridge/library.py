"""A verified bundle, indexed for serving: lookups by ``category/key``, canary resolution and the router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .bucketing import gets_canary
from .bundle_format import BUNDLE_FORMAT, bundle_sha256, canonical_bytes, parse_and_verify
from .routing import RoutableSOP, Router

if TYPE_CHECKING:
    from .semantic import SemanticEngine

STABLE = "stable"
CANARY = "canary"


@dataclass(frozen=True)
class LiveSOP:
    """One SOP version as agents are served it; ``variant`` is ``stable`` or ``canary``."""

    category: str
    key: str
    title: str
    summary: str
    example_questions: tuple[str, ...]
    version: int
    version_id: int | None
    content: str
    content_sha256: str
    variant: str = STABLE

    @property
    def slug(self) -> str:
        """Return ``category/key``."""
        return f"{self.category}/{self.key}"


@dataclass(frozen=True)
class Canary:
    """The candidate version of a rollout and the share of conversations it is served to."""

    sop: LiveSOP
    percentage: int


def _live_sop(entry: dict[str, Any], version: dict[str, Any], variant: str) -> LiveSOP:
    return LiveSOP(
        category=entry["category"],
        key=entry["key"],
        title=entry["title"],
        summary=version["summary"],
        example_questions=tuple(version.get("example_questions", ())),
        version=int(version["version"]),
        version_id=version.get("version_id"),
        content=version["content"],
        content_sha256=version["content_sha256"],
        variant=variant,
    )


class Library:
    """The live SOPs of one bundle. Immutable; the bridge swaps whole libraries.

    With an ``engine`` (``semantic.default_engine()``) the router routes by meaning as well as
    words; its indexes are warm-started from ``previous``'s (the library it replaces). Without
    one, routing is lexical.
    """

    def __init__(
        self,
        payload: dict[str, Any],
        sha256: str,
        engine: SemanticEngine | None = None,
        previous: Library | None = None,
    ) -> None:
        self.sha256 = sha256
        self.sops: list[LiveSOP] = [_live_sop(e, e, STABLE) for e in payload.get("sops", [])]
        self.by_slug: dict[tuple[str, str], LiveSOP] = {(s.category, s.key): s for s in self.sops}
        self.salts: dict[tuple[str, str], str] = {}
        self.canaries: dict[tuple[str, str], Canary] = {}
        for entry in payload.get("sops", []):
            slug = (entry["category"], entry["key"])
            self.salts[slug] = entry.get("salt") or f"{entry['category']}/{entry['key']}"
            if isinstance(entry.get("canary"), dict):
                canary = entry["canary"]
                self.canaries[slug] = Canary(_live_sop(entry, canary, CANARY), int(canary["percentage"]))
        self.by_category: dict[str, list[LiveSOP]] = {}
        for sop in self.sops:
            self.by_category.setdefault(sop.category, []).append(sop)
        self.categories: list[str] = list(self.by_category)
        semantic = None
        if engine is not None and engine.encoders:
            from .semantic import SopItems

            items = [SopItems(s.slug, s.title, s.summary, s.example_questions) for s in self.sops]
            before = previous.router.semantic if previous is not None else None
            semantic = engine.indexes(items, before)
        self.router: Router = Router(
            [RoutableSOP(s.category, s.key, s.title, s.summary, s.content, s.example_questions) for s in self.sops],
            semantic,
        )

    @classmethod
    def from_bytes(
        cls,
        raw: bytes,
        expected_sha256: str | None = None,
        engine: SemanticEngine | None = None,
        previous: Library | None = None,
    ) -> Library:
        """Verify ``raw`` (``bundle_format.parse_and_verify``) and index it (by meaning too, with
        an ``engine``).

        Raises:
            BundleError: the bundle does not verify.
        """
        payload = parse_and_verify(raw, expected_sha256)
        return cls(payload, bundle_sha256(raw), engine, previous)

    @classmethod
    def empty(cls) -> Library:
        """Return a library with nothing live (before the first bundle arrives)."""
        payload = {"format": BUNDLE_FORMAT, "categories": [], "sops": []}
        return cls(payload, bundle_sha256(canonical_bytes(payload)))

    def get(self, category: str, key: str) -> LiveSOP | None:
        """Return the stable version of ``category/key`` or ``None``."""
        return self.by_slug.get((category, key))

    def served_versions(self, category: str, key: str) -> list[LiveSOP]:
        """The versions of ``category/key`` served now: the stable one, then the canary if a
        rollout is on; empty for an unknown SOP."""
        stable = self.by_slug.get((category, key))
        canary = self.canaries.get((category, key))
        return [v for v in (stable, canary.sop if canary is not None else None) if v is not None]

    def resolve(self, sop: LiveSOP, routing_key: str | None) -> tuple[LiveSOP, int | None]:
        """Return the version of ``sop`` a conversation is served, and its bucket (1..100).

        Without a routing key: stable, bucket ``None``. With one, the canary when the
        conversation's bucket is within the canary's percentage (``bucketing.gets_canary``).
        """
        if not routing_key:
            return sop, None
        slug = (sop.category, sop.key)
        canary = self.canaries.get(slug)
        in_canary, bucket = gets_canary(self.salts[slug], routing_key, canary.percentage if canary else 0)
        return (canary.sop if canary is not None and in_canary else sop), bucket
