"""Routing as reviewers see it: what is live and what would be live if a version were, routed by
the bridge's own code (``mcp_bridge.library`` + ``replies.sop_for_question``, with the packaged
models and threshold), and the regression check of a version against every SOP's questions.

The live library is built from the live versions (``selectors.live_payload``) — the bundle's
stable entries, which are what questions are routed over (a canary is chosen per conversation
after routing). Libraries are cached per process by the payload's sha256, so a page or a check
builds each at most once.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from mcp_bridge.bundle_format import bundle_sha256, canonical_bytes
from mcp_bridge.library import Library
from mcp_bridge.replies import sop_for_question

from .models import SOPVersion
from .selectors import live_payload

_LIBRARIES: OrderedDict[str, Library] = OrderedDict()
_LOCK = threading.Lock()
MAX_CACHED_LIBRARIES = 4


def engine() -> Any:
    """Return this process's embedding engine (``mcp_bridge.semantic.default_engine``), its vectors
    persisted in ``SOPGOV_EMBEDDING_CACHE_DIR``."""
    from mcp_bridge.semantic import default_engine

    return default_engine(settings.SOPGOV_EMBEDDING_CACHE_DIR)


def library(stand_in: SOPVersion | None = None) -> Library:
    """Return the routing library of what is live, or of what would be live with ``stand_in``."""
    raw = canonical_bytes(live_payload(stand_in))
    sha = bundle_sha256(raw)
    with _LOCK:
        found = _LIBRARIES.get(sha)
        if found is not None:
            _LIBRARIES.move_to_end(sha)
            return found
        previous = next(reversed(_LIBRARIES.values()), None)
    built = Library.from_bytes(raw, sha, engine=engine(), previous=previous)
    with _LOCK:
        _LIBRARIES[sha] = built
        while len(_LIBRARIES) > MAX_CACHED_LIBRARIES:
            _LIBRARIES.popitem(last=False)
    return built


def answer_of(payload: Any) -> str:
    """Return what a ``get_sop_for_question`` reply routed to: ``category/key``, ``general`` (nothing
    fits) or ``category:<slug>`` (several SOPs of a category tie)."""
    if not isinstance(payload, dict):
        return ""
    if "sop_key" in payload:
        return f"{payload['category']}/{payload['sop_key']}"
    if payload.get("category") == "general":
        return "general"
    return f"category:{payload.get('category', '')}"


@dataclass(frozen=True)
class RankedSOP:
    """One SOP in a playground answer: ``slug``, fused ``score``, the classifier's
    ``probability``, the ``similarity`` and the lexical ``coverage``."""

    slug: str
    title: str
    score: float
    probability: float | None
    similarity: float | None
    coverage: float


@dataclass(frozen=True)
class Trial:
    """A question routed over one library: the reply's ``answer`` (``answer_of``), how it was
    decided (``method``, ``nearest`` similarity vs ``threshold``) and the top SOPs."""

    answer: str
    method: str
    nearest: float | None
    threshold: float | None
    ranked: list[RankedSOP]


def try_question(lib: Library, question: str) -> Trial:
    """Route ``question`` over ``lib`` as the bridge does and say why."""
    reply = sop_for_question(lib, question)
    decision = lib.router.route(question)
    ranked = [
        RankedSOP(
            slug=lib.sops[r.index].slug,
            title=lib.sops[r.index].title,
            score=r.score,
            probability=r.probability,
            similarity=r.similarity,
            coverage=r.coverage,
        )
        for r in decision.ranked
    ]
    return Trial(answer_of(reply.payload), decision.method, decision.nearest, decision.threshold, ranked)


def regression_questions(stand_in: SOPVersion) -> list[tuple[str, str]]:
    """Return ``(question, expected category/key)`` for every SOP's regression set: the example
    questions of its live version (``stand_in``'s for its own SOP) and its routing tests."""
    from .models import RoutingTest

    payload = live_payload(stand_in)
    rows: list[tuple[str, str]] = []
    for entry in payload["sops"]:
        slug = f"{entry['category']}/{entry['key']}"
        rows.extend((q, slug) for q in entry["example_questions"] if q.strip())
    slugs = {f"{e['category']}/{e['key']}" for e in payload["sops"]}
    for question, category, key in RoutingTest.objects.values_list("question", "sop__category__slug", "sop__key"):
        if f"{category}/{key}" in slugs:
            rows.append((question, f"{category}/{key}"))
    return list(dict.fromkeys(rows))  # without repeats, in order


def compare(before: Library, after: Library, questions: list[tuple[str, str]]) -> dict[str, Any]:
    """Route every question over ``before`` and ``after``; return ``{"questions", "correct_before",
    "correct_after", "regressions", "improvements", "changes": [{question, expected, before,
    after}], "method"}`` where a change is any question answered differently."""
    vectors = _vectors(after, [q for q, _ in questions])
    result: dict[str, Any] = {
        "questions": len(questions),
        "correct_before": 0,
        "correct_after": 0,
        "regressions": 0,
        "improvements": 0,
        "changes": [],
    }
    for question, expected in questions:
        given = vectors.get(question)
        was = answer_of(sop_for_question(before, question, vectors=given).payload)
        now = answer_of(sop_for_question(after, question, vectors=given).payload)
        result["correct_before"] += was == expected
        result["correct_after"] += now == expected
        result["regressions"] += was == expected and now != expected
        result["improvements"] += was != expected and now == expected
        if was != now:
            result["changes"].append({"question": question, "expected": expected, "before": was, "after": now})
    result["method"] = "+".join(sorted(after.router.semantic)) or "lexical"
    return result


def _vectors(lib: Library, questions: list[str]) -> dict[str, dict[str, Any]]:
    """Embed every question once per space it would be routed in, through the engine's cache
    (example questions are library items: already embedded)."""
    out: dict[str, dict[str, Any]] = {q: {} for q in questions}
    by_space: dict[str, list[str]] = {}
    for q in questions:
        space = lib.router.space(q)
        if space is not None:
            by_space.setdefault(space, []).append(q)
    cache = engine().cache
    for space, texts in by_space.items():
        encoder = lib.router.semantic[space].encoder
        for q, vector in zip(texts, cache.vectors(encoder, texts), strict=True):
            out[q][space] = vector
    return out


def result_sha256(summary: dict[str, Any], changes: list[dict[str, Any]]) -> str:
    """Return the sha256 identifying a check's result: canonical JSON of its counts and changes."""
    return bundle_sha256(
        json.dumps(
            {"summary": summary, "changes": changes}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    )
