"""Meaning-based scores of a library's SOPs for a question, in one embedding space.

For each live SOP its *items* — example questions, title and summary — are embedded
(``embedding``). A question's vector is then compared with them three ways:

* ``probability``: a multinomial logistic regression (softmax regression) trained on the items,
  labelled with their SOP — a per-library classifier, L2-regularised, fitted by full-batch Adam
  (Kingma & Ba 2015) in numpy;
* ``top2``: per SOP, the mean of the question's two best cosine similarities among its items;
* ``nearest``: the best cosine similarity over all items, which decides whether *anything* fits.

"Nothing fits" when ``nearest`` is below the library's threshold: the ``THRESHOLD_PERCENTILE``-th
percentile of every example question's nearest-neighbour similarity among the *other* items
(leave-one-out) — computed from the library being served alone, so every library gets its own.
The percentile (2) was chosen on the development half of the held-out Banking77 questions and
its out-of-scope questions: the smallest whole percentile that answers "general" to at least 90 %
of them. The fusion constants (``RECIPES``) come from cross-validation on the demo library's
example questions. ``docs/ROUTING.md`` tells how; the test half is only ever scored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .embedding import EmbeddingCache, Encoder, load_encoders
from .routing import QUESTION_CACHE_SIZE

THRESHOLD_PERCENTILE = 2.0
"""Percent of the library's own example questions (leave-one-out) that fall below the "nothing
fits" line. Chosen on development data (module docstring)."""


@dataclass(frozen=True)
class Recipe:
    """How one encoder's scores are fitted and fused: L2 strength of the classifier, and the
    weights of ``top2`` and of the normalised lexical score added to the probability."""

    l2: float
    top2_weight: float
    lexical_weight: float


RECIPES = {
    "minilm-l6-v2-int8": Recipe(l2=1e-4, top2_weight=0.5, lexical_weight=0.4),
    "use-multilingual-v3": Recipe(l2=3e-5, top2_weight=2.0, lexical_weight=1.0),
}
"""Chosen by 10-fold cross-validation on the demo library's example questions (docs/ROUTING.md)."""

COLD_STEPS = 300
WARM_STEPS = 30
LEARNING_RATE = 0.1


@dataclass(frozen=True)
class SopItems:
    """The texts of one SOP that its items are made of."""

    slug: str
    title: str
    summary: str
    examples: Sequence[str]

    def texts(self) -> list[str]:
        """Return the item texts: example questions, then title, then summary (non-empty only)."""
        return [t for t in (*self.examples, self.title, self.summary) if t and t.strip()]


@dataclass(frozen=True)
class Scores:
    """A question's semantic scores: per SOP ``probability`` and ``top2`` (arrays of length
    k, the library's SOP order) and the best similarity to any item, ``nearest``."""

    probability: np.ndarray
    top2: np.ndarray
    nearest: float


def fit_softmax(
    x: np.ndarray,
    y: np.ndarray,
    classes: int,
    *,
    l2: float,
    steps: int = COLD_STEPS,
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit a multinomial logistic regression: weights ``(d, classes)`` and biases ``(classes,)``
    minimising mean cross-entropy + ``l2``·‖W‖², by full-batch Adam (β₁ 0.9, β₂ 0.999, learning
    rate 0.1) for ``steps`` steps from zero or from ``start``.

    Args:
        x: ``(n, d)`` float32 inputs. y: ``(n,)`` class indices in ``[0, classes)``.
    """
    n, d = x.shape
    w = np.zeros((d, classes), np.float32) if start is None else start[0].astype(np.float32).copy()
    b = np.zeros(classes, np.float32) if start is None else start[1].astype(np.float32).copy()
    onehot = np.zeros((n, classes), np.float32)
    onehot[np.arange(n), y] = 1.0
    m_w, v_w = np.zeros_like(w), np.zeros_like(w)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        error = (p - onehot) / n
        grad_w = x.T @ error + 2 * l2 * w
        grad_b = error.sum(axis=0)
        for param, grad, m, v in ((w, grad_w, m_w, v_w), (b, grad_b, m_b, v_b)):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**t)
            v_hat = v / (1 - beta2**t)
            param -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + eps)
    return w, b


class SemanticIndex:
    """One library's items in one embedding space, its classifier and its threshold.

    Build with ``SemanticIndex.build``; immutable afterwards (the bridge swaps whole libraries).
    """

    def __init__(
        self,
        encoder: Encoder,
        slugs: list[str],
        items: np.ndarray,
        owner: np.ndarray,
        weights: np.ndarray,
        bias: np.ndarray,
        threshold: float,
        is_example: np.ndarray | None = None,
    ) -> None:
        self.encoder = encoder
        self.recipe = RECIPES.get(encoder.name, Recipe(l2=1e-4, top2_weight=0.5, lexical_weight=0.4))
        self.slugs = slugs
        self.items = items
        self.owner = owner
        self.weights = weights
        self.bias = bias
        self.threshold = threshold
        self.is_example = is_example if is_example is not None else np.zeros(len(owner), bool)
        k = len(slugs)
        counts = np.bincount(owner, minlength=k) if len(owner) else np.zeros(k, np.int64)
        width = int(max(2, counts.max() if k else 2))
        # (k, width) indices of each SOP's items, padded with -1: top-2 per SOP in one sort
        self.groups = np.full((k, width), -1, np.int64)
        fill = np.zeros(k, np.int64)
        for index, sop in enumerate(owner):
            self.groups[sop, fill[sop]] = index
            fill[sop] += 1

    @classmethod
    def build(
        cls,
        sops: Sequence[SopItems],
        encoder: Encoder,
        cache: EmbeddingCache,
        previous: SemanticIndex | None = None,
    ) -> SemanticIndex:
        """Embed the SOPs' items (cached by text), fit the classifier — warm-started from
        ``previous`` for the SOPs both share, with ``WARM_STEPS`` instead of ``COLD_STEPS`` — and
        set the threshold. When ``previous`` has exactly these items (a bundle that changed only
        SOP contents), return ``previous`` itself: an index is immutable. Cost: the texts not yet cached, plus about 0.1 s (warm) to 0.8 s (cold)
        for 86 SOPs."""
        slugs = [s.slug for s in sops]
        texts: list[str] = []
        owner: list[int] = []
        examples: list[bool] = []
        for index, sop in enumerate(sops):
            n_examples = sum(1 for e in sop.examples if e and e.strip())
            for j, text in enumerate(sop.texts()):
                texts.append(text)
                owner.append(index)
                examples.append(j < n_examples)
        items = cache.vectors(encoder, texts)
        owner_array = np.array(owner, np.int64)
        example_mask = np.array(examples, bool)
        if (
            previous is not None
            and previous.encoder.fingerprint == encoder.fingerprint
            and previous.slugs == slugs
            and np.array_equal(previous.owner, owner_array)
            and np.array_equal(previous.is_example, example_mask)
            and np.array_equal(previous.items, items)
        ):
            return previous  # the same items (only contents changed): the same classifier and threshold
        recipe = RECIPES.get(encoder.name, Recipe(l2=1e-4, top2_weight=0.5, lexical_weight=0.4))
        if not slugs:
            return cls(encoder, [], items, owner_array, np.zeros((encoder.dim, 0), np.float32), np.zeros(0), 1.0)
        start = None
        steps = COLD_STEPS
        if previous is not None and previous.encoder.name == encoder.name and previous.slugs:
            known = {slug: i for i, slug in enumerate(previous.slugs)}
            if sum(slug in known for slug in slugs) >= len(slugs) // 2:
                w = np.zeros((encoder.dim, len(slugs)), np.float32)
                b = np.zeros(len(slugs), np.float32)
                for i, slug in enumerate(slugs):
                    if slug in known:
                        w[:, i] = previous.weights[:, known[slug]]
                        b[i] = previous.bias[known[slug]]
                start, steps = (w, b), WARM_STEPS
        weights, bias = fit_softmax(items, owner_array, len(slugs), l2=recipe.l2, steps=steps, start=start)
        threshold = _threshold(items, example_mask)
        return cls(encoder, slugs, items, owner_array, weights, bias, threshold, example_mask)

    def scores(self, vector: np.ndarray) -> Scores:
        """Return the scores of a question's unit ``vector`` (``(dim,)``) against every SOP."""
        k = len(self.slugs)
        if k == 0:
            return Scores(np.zeros(0), np.zeros(0), 0.0)
        sims = self.items @ vector
        padded = np.where(self.groups >= 0, sims[np.maximum(self.groups, 0)], -np.inf)
        best2 = np.sort(padded, axis=1)[:, -2:]
        top2 = np.where(np.isfinite(best2[:, 0]), best2.mean(axis=1), best2[:, 1])
        logits = vector @ self.weights + self.bias
        logits -= logits.max()
        p = np.exp(logits)
        return Scores(probability=p / p.sum(), top2=top2, nearest=float(sims.max()))

    def encode_question(self, question: str) -> np.ndarray:
        """Return the question's unit vector, from ``QUESTION_VECTORS`` when the same text was
        asked recently (read-only: it is shared)."""
        return QUESTION_VECTORS.vector(self.encoder, question)

    def cached_question_vector(self, question: str) -> np.ndarray | None:
        """Return the question's unit vector if ``QUESTION_VECTORS`` holds it, else ``None``."""
        return QUESTION_VECTORS.cached(self.encoder, question)


class QuestionVectorCache:
    """The vectors of the last ``capacity`` distinct questions per process, least recently used
    out first (keyed by encoder fingerprint and the exact text).

    Embedding a question is most of a routed call's cost (≈ 3 ms of a core for MiniLM); an agent
    that asks the same question again (a retry, a second tool, a frequent customer question) gets
    the vector back in microseconds. Distinct questions gain nothing: ``bench/bridge_throughput.py``
    measures both. Tools run in worker threads, hence the lock; the model runs outside it.
    ``capacity`` 0 turns the cache off (``SOPGOV_BRIDGE_QUESTION_CACHE``).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, encoder: Any, question: str) -> np.ndarray | None:
        """Return ``question``'s vector by ``encoder`` if it is held (a hit), else ``None``
        (not counted: ``vector`` counts the miss when it computes)."""
        key = (encoder.fingerprint, question)
        with self._lock:
            found = self._vectors.get(key)
            if found is not None:
                self._vectors.move_to_end(key)
                self.hits += 1
            return found

    def vector(self, encoder: Any, question: str) -> np.ndarray:
        """Return ``question``'s unit vector by ``encoder``, computing it on a miss."""
        found = self.cached(encoder, question)
        if found is not None:
            return found
        with self._lock:
            self.misses += 1
        vector = encoder.encode([question])[0]
        key = (encoder.fingerprint, question)
        if self.capacity > 0:
            vector.setflags(write=False)
            with self._lock:
                self._vectors[key] = vector
                while len(self._vectors) > self.capacity:
                    self._vectors.popitem(last=False)
        return vector


QUESTION_VECTORS = QuestionVectorCache(QUESTION_CACHE_SIZE)


def _threshold(items: np.ndarray, is_example: np.ndarray) -> float:
    """Return the ``THRESHOLD_PERCENTILE``-th percentile of each example question's best
    similarity to any other item (leave-one-out); 0 with fewer than two items."""
    if len(items) < 2 or not is_example.any():
        return 0.0
    sims = items[is_example] @ items.T
    rows = np.flatnonzero(is_example)
    sims[np.arange(len(rows)), rows] = -np.inf
    return float(np.percentile(sims.max(axis=1), THRESHOLD_PERCENTILE))


class SemanticEngine:
    """The encoders a process has and the cache of their vectors: builds a library's indexes.

    One per process (``default_engine``): the models are loaded once, the cache is shared by
    every library the process builds.
    """

    def __init__(self, encoders: dict[str, Encoder], cache: EmbeddingCache) -> None:
        self.encoders = encoders
        self.cache = cache

    def indexes(
        self, sops: Sequence[SopItems], previous: dict[str, SemanticIndex] | None = None
    ) -> dict[str, SemanticIndex]:
        """Return an index per encoder (``{"minilm": …, "use": …}``) for ``sops``, warm-started
        from ``previous``'s; then write new vectors to the disk cache."""
        built = {
            name: SemanticIndex.build(sops, encoder, self.cache, (previous or {}).get(name))
            for name, encoder in self.encoders.items()
        }
        self.cache.save()
        return built


_DEFAULT: SemanticEngine | None = None
_DEFAULT_LOCK = threading.Lock()


def default_engine(cache_dir: Path | None = None) -> SemanticEngine:
    """Return this process's engine, loading the packaged encoders on first use
    (``embedding.load_encoders``; none present → an engine without encoders: lexical routing).
    ``cache_dir`` sets where vectors persist (the first call decides)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = SemanticEngine(load_encoders(), EmbeddingCache(cache_dir))
        return _DEFAULT
