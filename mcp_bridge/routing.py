"""Routing a customer's question to the live SOP that answers it, by meaning and by words.

**By meaning** (when the packaged models are present, ``semantic``): the question is embedded in
the space that fits its script — all-MiniLM-L6-v2 for Latin script, the multilingual Universal
Sentence Encoder when it has Chinese, Japanese or Korean characters — and each SOP scores

    probability (per-library classifier) + a · top-2 similarity + b · lexical score / best lexical score

with ``a``, ``b`` per encoder (``semantic.RECIPES``). Nothing fits when the question's best
similarity to any SOP item is below the library's threshold (``semantic``).

**By words** (always computed; the whole decision when no model is installed): two BM25 indexes
are fused:

* a document index where each SOP's title, summary, example questions and content form one
  BM25F document (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and
  Beyond", 2009, §3.5: term frequencies and length weighted per field, then Okapi BM25);
* an example index where every example question (and the title and summary) is its own short
  document, so a question close to one real customer question scores high even if the rest of
  the SOP uses other words. An SOP's example score is the mean of its two best examples.

Each index's scores are divided by that index's best score for the question and added, the
example part weighted by ``EXAMPLE_WEIGHT`` (a linear fusion of max-normalised scores). idf is
Lucene's ``ln(1 + (N - n + 0.5) / (n + 0.5))``.

Lexically, whether anything fits is decided by *coverage*: the share of the question's idf mass that the
chosen SOP contains (a term no SOP contains counts with the highest possible idf). A question
sharing only common words with the library gets "nothing fits" instead of a confident-looking
wrong procedure. The constants were chosen on the demo library; ``docs/ROUTING.md`` shows how.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .text import has_cjk, terms

if TYPE_CHECKING:
    from .semantic import SemanticIndex

FIELD_WEIGHTS = {"title": 2.0, "summary": 1.0, "examples": 1.0, "content": 0.5}
DOC_K1, DOC_B = 2.0, 0.75
EXAMPLE_K1, EXAMPLE_B = 1.2, 0.75
EXAMPLE_WEIGHT = 0.5
MIN_COVERAGE = 0.25
"""Coverage below which nothing fits the question."""
TIE_MARGIN = 0.005
"""When the two best SOPs of one category score within this fraction of each other, the
question is ambiguous and the category's list is returned ("multiple SOPs may apply")."""


@dataclass(frozen=True)
class RoutableSOP:
    """The fields of a live SOP version the router indexes."""

    category: str
    key: str
    title: str
    summary: str
    content: str
    example_questions: Sequence[str] = ()


@dataclass(frozen=True)
class Ranked:
    """One SOP's standing for a question: ``index`` into ``Router.sops``, ``score`` (fused;
    lexical only: 0 to 1 + ``EXAMPLE_WEIGHT``), lexical ``coverage`` in [0, 1], and — when routed
    by meaning — the classifier's ``probability`` and the ``similarity`` (top-2 mean cosine)."""

    index: int
    score: float
    coverage: float
    probability: float | None = None
    similarity: float | None = None

    @property
    def confidence(self) -> float:
        """Return how sure the router is: the classifier's probability, else the coverage."""
        return self.probability if self.probability is not None else self.coverage


@dataclass(frozen=True)
class RouteDecision:
    """What the router concluded for a question.

    ``kind`` is ``"sop"`` (``best`` answers it), ``"category"`` (SOPs of ``category`` may apply
    and none stands out) or ``"none"`` (nothing fits). ``ranked`` holds the top candidates;
    ``method`` says how it was decided (``"minilm"``, ``"use"`` or ``"lexical"``) and
    ``nearest``/``threshold`` the similarity that decided whether anything fits (by meaning).
    """

    kind: str
    best: Ranked | None
    category: str | None
    ranked: list[Ranked] = field(default_factory=list)
    method: str = "lexical"
    nearest: float | None = None
    threshold: float | None = None


class _BM25:
    """Okapi BM25 over weighted term-frequency vectors.

    A term's contribution to a document's score does not depend on the query (each query term
    counts once), so it is computed when the index is built: a query only sums postings.
    """

    def __init__(self, documents: Sequence[Counter[str] | dict[str, float]], k1: float, b: float) -> None:
        lengths = [float(sum(doc.values())) for doc in documents]
        n = len(documents)
        average = (sum(lengths) / n) if n else 1.0
        document_frequency: Counter[str] = Counter(term for doc in documents for term in doc)
        self.idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in document_frequency.items()}
        self.unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for index, doc in enumerate(documents):
            norm = k1 * (1 - b + b * lengths[index] / (average or 1.0))
            for term, tf in doc.items():
                weight = self.idf[term] * tf * (k1 + 1) / (tf + norm)
                self.postings.setdefault(term, []).append((index, weight))

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """Return ``{document index: BM25 score}`` for documents sharing a term with ``query``."""
        out: dict[int, float] = {}
        get = out.get
        for term in query:
            for index, weight in self.postings.get(term, ()):
                out[index] = get(index, 0.0) + weight
        return out


class Router:
    """Fused BM25 indexes over a fixed list of SOPs, and — given ``semantic`` indexes built for the
    same SOPs in the same order (``semantic.SemanticEngine.indexes``) — routing by meaning.
    Build once per bundle, query often.

    Building the lexical part costs O(total text); a query costs O(postings of its terms), plus,
    by meaning, one sentence embedding (≈ 5 ms on one core) and a few small matrix products.
    """

    def __init__(self, sops: Sequence[RoutableSOP], semantic: Mapping[str, SemanticIndex] | None = None) -> None:
        self.sops = list(sops)
        self.semantic = dict(semantic or {})
        documents: list[dict[str, float]] = []
        examples: list[Counter[str]] = []
        self._example_owner: list[int] = []
        for index, sop in enumerate(self.sops):
            weighted: dict[str, float] = {}
            fields = {
                "title": sop.title + " " + sop.key.replace("_", " "),
                "summary": sop.summary,
                "examples": "\n".join(sop.example_questions),
                "content": sop.content,
            }
            for name, text in fields.items():
                for term, count in Counter(terms(text)).items():
                    weighted[term] = weighted.get(term, 0.0) + FIELD_WEIGHTS[name] * count
            documents.append(weighted)
            for text in [*sop.example_questions, sop.title, sop.summary]:
                vector = Counter(terms(text))
                if vector:
                    examples.append(vector)
                    self._example_owner.append(index)
        self._documents = _BM25(documents, DOC_K1, DOC_B)
        self._examples = _BM25(examples, EXAMPLE_K1, EXAMPLE_B)
        self._doc_terms = [set(doc) for doc in documents]

    def rank(self, question: str, limit: int = 5) -> list[Ranked]:
        """Return up to ``limit`` SOPs sharing a term with ``question``, best first."""
        query = set(terms(question))
        if not query or not self.sops:
            return []
        doc_scores = self._documents.scores(query)
        if not doc_scores:
            return []
        # Each SOP's two best example scores, in one pass.
        first: dict[int, float] = {}
        second: dict[int, float] = {}
        owner = self._example_owner
        for example, score in self._examples.scores(query).items():
            sop = owner[example]
            best = first.get(sop, 0.0)
            if score > best:
                second[sop] = best
                first[sop] = score
            elif score > second.get(sop, 0.0):
                second[sop] = score
        doc_scale = 1.0 / max(doc_scores.values())
        # The mean of the two best examples, divided by the best such mean.
        best_mean = max((first[i] + second.get(i, 0.0) for i in first), default=0.0)
        example_scale = EXAMPLE_WEIGHT / best_mean if best_mean else 0.0
        fused = [
            (score * doc_scale + (first.get(i, 0.0) + second.get(i, 0.0)) * example_scale, -i)
            for i, score in doc_scores.items()
        ]
        top = heapq.nlargest(limit, fused)
        idf = self._documents.idf
        unknown = self._documents.unknown_idf
        total = sum(idf.get(t, unknown) for t in query)
        known = [t for t in query if t in idf]
        return [
            Ranked(-neg, score, sum(idf[t] for t in known if t in self._doc_terms[-neg]) / total) for score, neg in top
        ]

    def space(self, question: str) -> str | None:
        """Return the embedding space a question is routed in (``"use"`` when it has CJK
        characters, else ``"minilm"``; whichever exists when only one does), or ``None``: lexical."""
        if not self.semantic:
            return None
        preferred = ("use", "minilm") if has_cjk(question) else ("minilm", "use")
        return next((name for name in preferred if name in self.semantic), None)

    def route(self, question: str, vectors: Mapping[str, np.ndarray] | None = None) -> RouteDecision:
        """Decide which SOP answers ``question`` (see ``RouteDecision``). ``vectors`` may carry the
        question's embedding per space, computed beforehand (batch evaluations)."""
        space = self.space(question)
        if space is not None and self.sops:
            return self._route_by_meaning(question, space, (vectors or {}).get(space))
        ranked = self.rank(question)
        if not ranked or ranked[0].coverage < MIN_COVERAGE:
            return RouteDecision("none", ranked[0] if ranked else None, None, ranked)
        return self._decide(ranked)

    def _decide(self, ranked: list[Ranked], **how: object) -> RouteDecision:
        """Return the best SOP, or its category's list when the runner-up of the same category is
        within ``TIE_MARGIN`` of it."""
        top = ranked[0]
        category = self.sops[top.index].category
        if len(ranked) > 1:
            second = ranked[1]
            if self.sops[second.index].category == category and top.score - second.score < TIE_MARGIN * top.score:
                return RouteDecision("category", top, category, ranked, **how)  # type: ignore[arg-type]
        return RouteDecision("sop", top, category, ranked, **how)  # type: ignore[arg-type]

    def _route_by_meaning(
        self, question: str, space: str, vector: np.ndarray | None = None, limit: int = 5
    ) -> RouteDecision:
        index = self.semantic[space]
        scores = index.scores(vector if vector is not None else index.encode_question(question))
        lexical = np.zeros(len(self.sops), np.float32)
        coverage = np.zeros(len(self.sops), np.float32)
        words = self.rank(question, limit=len(self.sops))
        if words:
            best = words[0].score or 1.0
            for r in words:
                lexical[r.index] = r.score / best
                coverage[r.index] = r.coverage
        recipe = index.recipe
        fused = scores.probability + recipe.top2_weight * scores.top2 + recipe.lexical_weight * lexical
        order = np.argsort(-fused, kind="stable")[:limit]
        ranked = [
            Ranked(
                int(i),
                float(fused[i]),
                float(coverage[i]),
                probability=float(scores.probability[i]),
                similarity=float(scores.top2[i]),
            )
            for i in order
        ]
        how = {"method": space, "nearest": scores.nearest, "threshold": index.threshold}
        if scores.nearest < index.threshold:
            return RouteDecision("none", ranked[0], None, ranked, **how)  # type: ignore[arg-type]
        return self._decide(ranked, **how)
