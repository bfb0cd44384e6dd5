"""Routing by meaning: the packaged model files, the encoders, the vector cache, the per-library
index and threshold, and how the router falls back to words."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apps.demo.banking77 import LIBRARY_DIR
from mcp_bridge import models
from mcp_bridge.bundle_format import BUNDLE_FORMAT, canonical_bytes
from mcp_bridge.embedding import EmbeddingCache, load_encoders
from mcp_bridge.evaluate import payload_from_library
from mcp_bridge.library import Library
from mcp_bridge.replies import NO_SOP_TEXT, sop_for_question
from mcp_bridge.routing import DecisionCache
from mcp_bridge.semantic import (
    THRESHOLD_PERCENTILE,
    SemanticEngine,
    SemanticIndex,
    SopItems,
    _threshold,
    default_engine,
)
from tests.bridge.test_units import LIBRARY


@pytest.fixture(scope="module")
def engine() -> SemanticEngine:
    """This process's engine with both packaged encoders (the install fetched them)."""
    found = default_engine()
    assert set(found.encoders) == {"minilm", "use"}, "run: python -m mcp_bridge.models fetch"
    return found


@pytest.fixture(scope="module")
def customer_service(engine: SemanticEngine) -> Library:
    """The seed's nine customer-service SOPs (five or six example questions each), by meaning."""
    rows = json.loads((LIBRARY_DIR / "customer_service.json").read_text(encoding="utf-8"))
    return Library.from_bytes(canonical_bytes(payload_from_library(rows)), engine=engine)


class CountingEncoder:
    """A stand-in encoder that records what it was asked to embed (deterministic vectors)."""

    name = "counting"
    fingerprint = "counting-0"
    dim = 8

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = [np.random.default_rng(sum(map(ord, t))).standard_normal(self.dim) for t in texts]
        out = np.array(rows, np.float32).reshape(len(texts), self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-9)


# --- model files -------------------------------------------------------------------------------


def test_model_files__installed_match_their_pins() -> None:
    assert models.main(["check"]) == 0
    graph = models.model_dir() / models.MINILM_GRAPH.name
    assert models.file_sha256(graph) == models.MINILM_GRAPH.sha256


def test_model_files__fetch_when_present__nothing_rewritten(tmp_path: Path) -> None:
    for spec in models.MINILM_FILES:
        shutil.copy2(models.model_dir() / spec.name, tmp_path / spec.name)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    paths = models.fetch(tmp_path, quiet=True)
    assert [p.name for p in paths] == [spec.name for spec in models.MINILM_FILES]
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_model_files__altered_file__check_fails_and_encoder_not_loaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for spec in models.MINILM_FILES:
        shutil.copy2(models.model_dir() / spec.name, tmp_path / spec.name)
    with (tmp_path / models.MINILM_GRAPH.name).open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    assert models.main(["check", "--dest", str(tmp_path)]) == 1
    with caplog.at_level(logging.WARNING):
        encoders = load_encoders(tmp_path)
    assert "minilm" not in encoders
    assert "routed by words only" in caplog.text


# --- encoders and the vector cache -------------------------------------------------------------


def test_minilm__unit_vectors__paraphrases_closer_than_unrelated(engine: SemanticEngine) -> None:
    encoder = engine.encoders["minilm"]
    a, b, c = encoder.encode(["I forgot my password", "I can't remember how to log in", "Is the warranty 2 years?"])
    assert np.allclose([np.linalg.norm(v) for v in (a, b, c)], 1.0, atol=1e-4)
    assert float(a @ b) > float(a @ c) + 0.2


def test_use__chinese_and_english_paraphrases_share_a_space(engine: SemanticEngine) -> None:
    encoder = engine.encoders["use"]
    zh, en, other = encoder.encode(["我忘记密码了", "I forgot my password", "保修多长时间"])
    assert float(zh @ en) > float(zh @ other)


def test_minilm__embedded_from_many_threads_at_once__same_vectors_as_one_by_one(engine: SemanticEngine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    encoder = engine.encoders["minilm"]
    texts = [f"my card payment number {i} was declined" for i in range(24)]
    alone = np.stack([encoder.encode([t])[0] for t in texts])
    with ThreadPoolExecutor(6) as pool:  # more threads than encoder.runs lets run at once
        at_once = np.stack(list(pool.map(lambda t: encoder.encode([t])[0], texts)))
    assert np.array_equal(at_once, alone)


def test_minilm__a_texts_vector_does_not_depend_on_the_texts_beside_it(engine: SemanticEngine) -> None:
    encoder = engine.encoders["minilm"]
    texts = ["short", "a much longer question about a card payment that was declined twice", "refund"]
    together = encoder.encode(texts)
    alone = np.stack([encoder.encode([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_cache__embeds_each_text_once_and_persists_by_fingerprint(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path)
    first = cache.vectors(encoder, ["a", "b", "a"])
    again = cache.vectors(encoder, ["b", "c"])
    assert [sorted(call) for call in encoder.calls] == [["a", "b"], ["c"]]
    assert np.array_equal(first[1], again[0]) and np.array_equal(first[0], first[2])
    cache.save()
    assert (tmp_path / "embeddings-counting-0.npz").is_file()
    reopened = EmbeddingCache(tmp_path)
    fresh = CountingEncoder()
    assert np.array_equal(reopened.vectors(fresh, ["a", "c"]), np.stack([first[0], again[1]]))
    assert fresh.calls == []
    fresh.fingerprint = "counting-1"  # another model file: its own table
    reopened.vectors(fresh, ["a"])
    assert fresh.calls == [["a"]]


def test_cache__damaged_file__starts_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "embeddings-counting-0.npz").write_bytes(b"not a numpy archive")
    encoder = CountingEncoder()
    with caplog.at_level(logging.WARNING):
        vectors = EmbeddingCache(tmp_path).vectors(encoder, ["a"])
    assert vectors.shape == (1, 8) and encoder.calls == [["a"]]
    assert "unreadable" in caplog.text


# --- index and threshold -----------------------------------------------------------------------


def test_threshold__percentile_of_examples_leave_one_out_best_similarity() -> None:
    rng = np.random.default_rng(7)
    items = rng.standard_normal((40, 16)).astype(np.float32)
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    is_example = np.arange(40) < 30
    best = []
    for i in range(30):
        sims = items @ items[i]
        sims[i] = -np.inf
        best.append(sims.max())
    assert _threshold(items, is_example) == pytest.approx(float(np.percentile(best, THRESHOLD_PERCENTILE)), abs=1e-6)


def test_index__same_items_as_previous__previous_reused_else_refitted(engine: SemanticEngine) -> None:
    encoder = engine.encoders["minilm"]
    sops = [SopItems(f"{e['category']}/{e['key']}", e["title"], e["summary"], e["example_questions"]) for e in LIBRARY]
    first = SemanticIndex.build(sops, encoder, engine.cache)
    assert SemanticIndex.build(sops, encoder, engine.cache, previous=first) is first
    sops[0] = SopItems(sops[0].slug, sops[0].title, sops[0].summary, [*sops[0].examples, "Refund me please"])
    changed = SemanticIndex.build(sops, encoder, engine.cache, previous=first)
    assert changed is not first and len(changed.items) == len(first.items) + 1


def test_index__warm_start_from_previous__same_answers(engine: SemanticEngine) -> None:
    encoder = engine.encoders["minilm"]
    sops = [SopItems(f"{e['category']}/{e['key']}", e["title"], e["summary"], e["example_questions"]) for e in LIBRARY]
    cold = SemanticIndex.build(sops, encoder, engine.cache)
    warm = SemanticIndex.build(sops, encoder, engine.cache, previous=cold)
    for question in ["I can't remember my password", "my account got locked"]:
        vector = encoder.encode([question])[0]
        assert np.argmax(cold.scores(vector).probability) == np.argmax(warm.scores(vector).probability)


# --- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # no word in common with the SOP's title, summary, examples or content
        ("My profile is frozen after several failed sign-ins", "technical_support/account_lockout"),
        ("Give me back what I paid for the order", "billing/refund_policy"),
        ("我的账户被锁住了", "technical_support/account_lockout"),
        ("产品坏了还在保修期吗", "product/warranty_information"),
    ],
)
def test_route__paraphrase__reaches_the_sop_by_meaning(customer_service: Library, question: str, expected: str) -> None:
    decision = customer_service.router.route(question)
    assert decision.method in {"minilm", "use"}
    reply = sop_for_question(customer_service, question).payload
    assert f"{reply['category']}/{reply.get('sop_key')}" == expected


def test_route__chinese_question__routed_in_the_multilingual_space(customer_service: Library) -> None:
    assert customer_service.router.space("保修多长时间") == "use"
    assert customer_service.router.space("How long is the warranty?") == "minilm"


@pytest.mark.parametrize("question", ["Recommend me a good pizza place", "明天北京天气怎么样"])
def test_route__nothing_fits__general_with_similarity_below_threshold(customer_service: Library, question: str) -> None:
    decision = customer_service.router.route(question)
    assert decision.nearest is not None and decision.threshold is not None
    assert decision.nearest < decision.threshold
    reply = sop_for_question(customer_service, question).payload
    assert reply["category"] == "general" and reply["sop_content"] == NO_SOP_TEXT


def test_route__without_models__words_only() -> None:
    lib = Library.from_bytes(
        canonical_bytes({"format": BUNDLE_FORMAT, "categories": [], "sops": LIBRARY}),
        engine=SemanticEngine({}, EmbeddingCache()),
    )
    decision = lib.router.route("My account is locked")
    assert decision.method == "lexical"
    assert lib.sops[decision.ranked[0].index].slug == "technical_support/account_lockout"


class _CountingEncoder:
    fingerprint = "fake-1"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def encode(self, texts: Any) -> Any:
        import numpy as np

        self.calls += list(texts)
        return np.ones((len(texts), 3), np.float32) / np.sqrt(3)


def test_question_vector_cache__repeat_hits__lru_evicts__vectors_read_only() -> None:
    from mcp_bridge.semantic import QuestionVectorCache

    cache, encoder = QuestionVectorCache(capacity=2), _CountingEncoder()
    first = cache.vector(encoder, "refund?")
    assert cache.vector(encoder, "refund?") is first and encoder.calls == ["refund?"]
    assert not first.flags.writeable  # shared between calls: nobody may change it
    cache.vector(encoder, "locked out")
    cache.vector(encoder, "refund?")  # refreshes refund?
    cache.vector(encoder, "password")  # evicts the least recently used: locked out
    cache.vector(encoder, "locked out")
    assert encoder.calls == ["refund?", "locked out", "password", "locked out"]
    assert (cache.hits, cache.misses) == (2, 4)


def test_question_vector_cache__capacity_zero__always_computes() -> None:
    from mcp_bridge.semantic import QuestionVectorCache

    cache, encoder = QuestionVectorCache(capacity=0), _CountingEncoder()
    cache.vector(encoder, "q")
    cache.vector(encoder, "q")
    assert encoder.calls == ["q", "q"]


def test_question_vector_cache__cached__only_what_is_held__counts_hits_only() -> None:
    from mcp_bridge.semantic import QuestionVectorCache

    cache, encoder = QuestionVectorCache(capacity=2), _CountingEncoder()
    assert cache.cached(encoder, "refund?") is None
    first = cache.vector(encoder, "refund?")
    assert cache.cached(encoder, "refund?") is first
    assert encoder.calls == ["refund?"] and (cache.hits, cache.misses) == (1, 1)


def test_router__known_vectors__none_until_embedded__then_the_same_route(customer_service: Library) -> None:
    router = customer_service.router
    question = "Can I get my money back for an order from last week? (known_vectors test)"
    assert router.known_vectors(question) is None  # never asked: must be embedded first
    vectors = router.embed(question)
    assert list(vectors) == ["minilm"] and vectors["minilm"].shape == (384,)
    known = router.known_vectors(question)
    assert known is not None and known["minilm"] is vectors["minilm"]
    with_vectors = router.route(question, known)
    assert router.known_vectors(question) == {}  # decided: nothing more to compute
    router.decisions = DecisionCache()  # forget the decision: route it again, vector looked up
    without = router.route(question)
    assert (with_vectors.kind, with_vectors.best, with_vectors.ranked) == (without.kind, without.best, without.ranked)


def test_decision_cache__repeat_is_the_same_decision__lru_evicts__capacity_zero_keeps_nothing(
    customer_service: Library,
) -> None:
    router = customer_service.router
    router.decisions = DecisionCache(capacity=2)
    hits, misses = DecisionCache.hits, DecisionCache.misses
    first = router.route("My account is locked (decision cache test)")
    assert router.route("My account is locked (decision cache test)") is first
    router.route("How long is the warranty? (decision cache test)")
    router.route("Can I return this? (decision cache test)")  # evicts the locked-account question
    assert "My account is locked (decision cache test)" not in router.decisions
    assert (DecisionCache.hits - hits, DecisionCache.misses - misses) == (1, 3)
    router.decisions = DecisionCache(capacity=0)
    router.route("My account is locked (decision cache test)")
    assert "My account is locked (decision cache test)" not in router.decisions
    router.decisions = DecisionCache()  # the library is shared by this module's tests


def test_router__known_vectors__routed_by_words__nothing_to_embed() -> None:
    lib = Library.from_bytes(
        canonical_bytes({"format": BUNDLE_FORMAT, "categories": [], "sops": LIBRARY}),
        engine=SemanticEngine({}, EmbeddingCache()),
    )
    assert lib.router.known_vectors("My account is locked") == {}
    assert lib.router.embed("My account is locked") == {}
