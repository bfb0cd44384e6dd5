"""Routing a customer's question to the live SOP that answers it, by meaning and by words.

**By meaning** (when the packaged models are present, ``semantic``): the question is embedded in
the space that fits its script — all-MiniLM-L6-v2 for Latin script, the multilingual Universal
Sentence Encoder when it has Chinese, Japanese or Korean characters — and each SOP scores

    probability (per-library classifier) + a · top-2 similarity + b · lexical score / best lexical score

with ``a``, ``b`` per encoder (``semantic.RECIPES``). Nothing fits when the question's best
similarity to any SOP item is below the library's threshold (``semantic``).

**By words** (always computed; the whole decision when no model is installed): two BM25 indexes
(``bm25s``) are fused:

* a document index where each SOP's title, summary, example questions and content form one
  BM25F document (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and
  Beyond", 2009, §3.5: term frequencies and length weighted per field, then Okapi BM25). The
  field weights (2, 1, 1, ½) are applied by writing each field ``2w`` times and doubling k1:
  every term frequency and length doubles, so each score is the weighted one times the constant
  ``(2k1 + 1) / (k1 + 1)`` — the same ranking and, after max-normalisation, the same numbers;
* an example index where every example question (and the title and summary) is its own short
  document, so a question close to one real customer question scores high even if the rest of
  the SOP uses other words. An SOP's example score is the sum of its two best examples.

Each index's scores are divided by that index's best score for the question and added, the
example part weighted by ``EXAMPLE_WEIGHT`` (a linear fusion of max-normalised scores). idf is
Lucene's ``ln(1 + (N - n + 0.5) / (n + 0.5))``.

Lexically, whether anything fits is decided by *coverage*: the share of the question's idf mass that the
chosen SOP contains (a term no SOP contains counts with the highest possible idf). A question
sharing only common words with the library gets "nothing fits" instead of a confident-looking
wrong procedure. The constants were chosen on the demo library; ``docs/ROUTING.md`` shows how.
"""

from __future__ import annotations

import math
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import bm25s
import numpy as np

from .text import has_cjk, terms

if TYPE_CHECKING:
    from .semantic import SemanticIndex

FIELD_WEIGHTS = {"title": 2.0, "summary": 1.0, "examples": 1.0, "content": 0.5}
FIELD_REPEATS = {name: int(2 * weight) for name, weight in FIELD_WEIGHTS.items()}
"""BM25F by repetition: a field of weight ``w`` is written ``2w`` times, and k1 doubled (below)."""
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


QUESTION_CACHE_SIZE = int(os.environ.get("SOPGOV_BRIDGE_QUESTION_CACHE", "4096"))
"""Distinct questions whose vector (``semantic.QUESTION_VECTORS``) and decision (``DecisionCache``)
each process keeps; 0 turns both caches off."""


class DecisionCache:
    """One router's last ``capacity`` decisions by question text, least recently used out first.

    A router is built for one bundle and its decision for a question is a function of the text
    alone (vectors do not depend on other texts: ``embedding.MiniLMEncoder.encode``), so a
    repeated question — a retry, a second agent, a frequent customer question — skips routing
    (≈ 0.2 ms, a quarter of a routed call's CPU). A new bundle brings a new router and an empty
    cache. ``hits``/``misses`` count over all routers of the process (``/metrics``)."""

    hits = 0
    misses = 0
    _count_lock = threading.Lock()

    def __init__(self, capacity: int = QUESTION_CACHE_SIZE) -> None:
        self.capacity = capacity
        self._decisions: OrderedDict[str, RouteDecision] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, question: str) -> RouteDecision | None:
        """Return the decision made for ``question``, or ``None`` (counted as a hit or a miss)."""
        with self._lock:
            found = self._decisions.get(question)
            if found is not None:
                self._decisions.move_to_end(question)
        with DecisionCache._count_lock:
            if found is not None:
                DecisionCache.hits += 1
            else:
                DecisionCache.misses += 1
        return found

    def __contains__(self, question: object) -> bool:
        with self._lock:
            return question in self._decisions

    def put(self, question: str, decision: RouteDecision) -> None:
        """Remember ``decision`` for ``question`` (no-op with capacity 0)."""
        if self.capacity <= 0:
            return
        with self._lock:
            self._decisions[question] = decision
            while len(self._decisions) > self.capacity:
                self._decisions.popitem(last=False)


class _Index:
    """One ``bm25s`` index (Lù 2024, "BM25S: Orders of magnitude faster lexical search via eager
    sparse scoring", arXiv:2407.03618) over token lists, ``method="lucene"``: idf
    ``ln(1 + (N - n + 0.5) / (n + 0.5))``, the Okapi term weight. A query term counts once."""

    def __init__(self, documents: Sequence[list[str]], k1: float, b: float) -> None:
        self.size = len(documents)
        self.model: bm25s.BM25 | None = None
        if any(documents):
            self.model = bm25s.BM25(k1=k1, b=b, method="lucene")
            self.model.index(list(documents), show_progress=False, create_empty_token=False)

    def scores(self, query: Iterable[str]) -> np.ndarray:
        """Return the BM25 score of every document for the query's distinct terms (float32, one per document)."""
        if self.model is None:
            return np.zeros(self.size, np.float32)
        vocabulary = self.model.vocab_dict
        ids = [vocabulary[t] for t in set(query) if t in vocabulary]
        return self.model.get_scores_from_ids(ids) if ids else np.zeros(self.size, np.float32)


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
        self.decisions = DecisionCache()
        documents: list[list[str]] = []
        examples: list[list[str]] = []
        owners: list[int] = []
        for index, sop in enumerate(self.sops):
            fields = {
                "title": terms(sop.title + " " + sop.key.replace("_", " ")),
                "summary": terms(sop.summary),
                "examples": terms("\n".join(sop.example_questions)),
                "content": terms(sop.content),
            }
            documents.append([t for name, tokens in fields.items() for t in tokens * FIELD_REPEATS[name]])
            for text in [*sop.example_questions, sop.title, sop.summary]:
                tokens = terms(text)
                if tokens:
                    examples.append(tokens)
                    owners.append(index)
        self._documents = _Index(documents, DOC_K1 * 2, DOC_B)
        self._examples = _Index(examples, EXAMPLE_K1, EXAMPLE_B)
        # Each SOP's example ids in one padded row; the padding points at an extra zero score.
        width = max(2, max(Counter(owners).values(), default=0))
        self._example_rows = np.full((len(self.sops), width), len(examples), np.int64)
        filled = [0] * len(self.sops)
        for example, sop_index in enumerate(owners):
            self._example_rows[sop_index, filled[sop_index]] = example
            filled[sop_index] += 1
        # For coverage: each term's idf and the SOPs whose document holds it.
        holders: dict[str, set[int]] = {}
        for index, tokens in enumerate(documents):
            for term in set(tokens):
                holders.setdefault(term, set()).add(index)
        n = len(documents)
        self._holders = holders
        self._idf = {t: math.log(1 + (n - len(h) + 0.5) / (len(h) + 0.5)) for t, h in holders.items()}
        self._unknown_idf = math.log(1 + (n + 0.5) / 0.5)

    def _lexical(self, query: set[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """Return every SOP's fused word score and which SOPs share a term with ``query``
        (``(fused, candidates)``), or ``None`` when none does."""
        if not query or not self.sops:
            return None
        doc_scores = self._documents.scores(query)
        best_doc = float(doc_scores.max())
        if best_doc <= 0:
            return None
        # Each SOP's two best example scores, summed (the padding scores 0).
        per_sop = np.append(self._examples.scores(query), np.float32(0.0))[self._example_rows]
        two_best = np.partition(per_sop, per_sop.shape[1] - 2, axis=1)[:, -2:].sum(axis=1)
        best_examples = float(two_best.max())
        fused = doc_scores / best_doc
        if best_examples > 0:
            fused = fused + EXAMPLE_WEIGHT * two_best / best_examples
        return fused, np.flatnonzero(doc_scores > 0)

    def _coverage(self, query: set[str], index: int) -> float:
        """The share of ``query``'s weight (idf) in terms the SOP at ``index`` holds."""
        total = sum(self._idf.get(t, self._unknown_idf) for t in query)
        return sum(self._idf[t] for t in query if t in self._idf and index in self._holders[t]) / total

    def rank(self, question: str, limit: int = 5) -> list[Ranked]:
        """Return up to ``limit`` SOPs sharing a term with ``question``, best first."""
        query = set(terms(question))
        lexical = self._lexical(query)
        if lexical is None:
            return []
        fused, candidates = lexical
        order = candidates[np.lexsort((candidates, -fused[candidates]))][:limit]
        return [Ranked(int(i), float(fused[i]), self._coverage(query, int(i))) for i in order]

    def space(self, question: str) -> str | None:
        """Return the embedding space a question is routed in (``"use"`` when it has CJK
        characters, else ``"minilm"``; whichever exists when only one does), or ``None``: lexical."""
        if not self.semantic:
            return None
        preferred = ("use", "minilm") if has_cjk(question) else ("minilm", "use")
        return next((name for name in preferred if name in self.semantic), None)

    def known_vectors(self, question: str) -> dict[str, np.ndarray] | None:
        """Return what ``route`` needs beyond the text without computing anything: ``{}`` when
        the question is routed by words, ``{space: vector}`` when its vector is cached, ``None``
        when it must be embedded first (``embed``, ≈ 3 ms of a core: run it off the event loop).
        A question whose decision is cached needs nothing: ``{}``."""
        space = self.space(question)
        if space is None or not self.sops or question in self.decisions:
            return {}
        vector = self.semantic[space].cached_question_vector(question)
        return None if vector is None else {space: vector}

    def embed(self, question: str) -> dict[str, np.ndarray]:
        """Return the question's vector in its space (``{space: vector}``; ``{}`` when routed by
        words), embedding it unless cached. Blocking."""
        space = self.space(question)
        if space is None or not self.sops:
            return {}
        return {space: self.semantic[space].encode_question(question)}

    def route(self, question: str, vectors: Mapping[str, np.ndarray] | None = None) -> RouteDecision:
        """Decide which SOP answers ``question`` (see ``RouteDecision``). ``vectors`` may carry the
        question's embedding per space, computed beforehand (``embed``; batch evaluations).
        A question routed before by this router gets the same decision from ``decisions``."""
        decision = self.decisions.get(question)
        if decision is None:
            decision = self._route(question, vectors)
            self.decisions.put(question, decision)
        return decision

    def _route(self, question: str, vectors: Mapping[str, np.ndarray] | None) -> RouteDecision:
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
        query = set(terms(question))
        lexical = np.zeros(len(self.sops), np.float32)
        words = self._lexical(query)
        word_holders: set[int] = set()
        if words is not None:
            word_scores, candidates = words
            best = float(word_scores[candidates].max()) or 1.0
            # in double precision, then stored as float32, as the scores always were
            lexical[candidates] = word_scores[candidates].astype(np.float64) / best
            word_holders = set(candidates.tolist())
        recipe = index.recipe
        fused = scores.probability + recipe.top2_weight * scores.top2 + recipe.lexical_weight * lexical
        order = np.argsort(-fused, kind="stable")[:limit]
        ranked = [
            Ranked(
                int(i),
                float(fused[i]),
                # coverage only for the SOPs returned (it was computed for every candidate)
                float(np.float32(self._coverage(query, int(i)))) if int(i) in word_holders else 0.0,
                probability=float(scores.probability[i]),
                similarity=float(scores.top2[i]),
            )
            for i in order
        ]
        how = {"method": space, "nearest": scores.nearest, "threshold": index.threshold}
        if scores.nearest < index.threshold:
            return RouteDecision("none", ranked[0], None, ranked, **how)  # type: ignore[arg-type]
        return self._decide(ranked, **how)
