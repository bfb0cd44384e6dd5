"""How well ``get_sop_for_question`` routes: the exact served code path on a library and a CSV.

    python -m mcp_bridge evaluate LIBRARY.json QUESTIONS.csv [--show-errors N] [--lexical]
    python -m mcp_bridge evaluate --bundle BUNDLE.json QUESTIONS.csv

``LIBRARY.json`` is in ``import_sops``' format (a list of ``{category, key, title, content,
summary, example_questions}``), made into a bundle payload as the app would publish it;
``--bundle`` takes a published bundle as is. ``QUESTIONS.csv`` has ``question,expected`` with
``expected`` = ``category/key``, or empty when no SOP should fit. Each question goes through
``replies.sop_for_question`` on a ``Library`` built with this process's packaged models
(``semantic.default_engine``) — what the bridge serves, threshold included.

The last line printed is JSON: ``{"n", "top1_accuracy", "oos_recall", "p50_ms", "p99_ms"}``: top-1
accuracy over the in-scope questions (answered with exactly the expected SOP), out-of-scope
recall over the rest (answered "general"), latency per question in milliseconds.
"""

from __future__ import annotations

import csv
import hashlib
import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bundle_format import BUNDLE_FORMAT, bundle_sha256, canonical_bytes
from .library import Library
from .replies import sop_for_question


def payload_from_library(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Return the bundle payload an ``import_sops`` library would be published as (version 1
    of each SOP, stable, salt ``category/key``)."""
    sops = []
    categories: dict[str, dict[str, str]] = {}
    for row in rows:
        categories.setdefault(row["category"], {"slug": row["category"], "name": row["category"], "description": ""})
        content = row.get("content", "")
        sops.append(
            {
                "category": row["category"],
                "key": row["key"],
                "title": row.get("title", row["key"]),
                "salt": f"{row['category']}/{row['key']}",
                "summary": row.get("summary", ""),
                "example_questions": list(row.get("example_questions", [])),
                "version": 1,
                "version_id": None,
                "content": content,
                "content_sha256": hashlib.sha256(content.encode("utf-8")).hexdigest(),
            }
        )
    return {"format": BUNDLE_FORMAT, "categories": list(categories.values()), "sops": sops}


def read_questions(path: Path) -> list[tuple[str, str]]:
    """Return ``(question, expected)`` rows of a ``question,expected`` CSV.

    Raises:
        ValueError: the columns are missing.
    """
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or {"question", "expected"} - set(reader.fieldnames):
            raise ValueError("The CSV needs the columns question,expected.")
        return [(r["question"], (r["expected"] or "").strip()) for r in reader]


def answered(payload: Any) -> str:
    """Return what a reply routed to: ``category/key``, or the category (``general``, or a
    category whose SOPs tie)."""
    if not isinstance(payload, dict):
        return ""
    if "sop_key" in payload:
        return f"{payload['category']}/{payload['sop_key']}"
    return str(payload.get("category", ""))


@dataclass
class Evaluation:
    """The numbers of one run; ``misses`` holds ``(question, expected, got)`` of wrong answers."""

    n: int = 0
    in_scope: int = 0
    correct: int = 0
    out_of_scope: int = 0
    general: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[tuple[str, str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return ``{"n", "top1_accuracy", "oos_recall", "p50_ms", "p99_ms"}``."""
        return {
            "n": self.n,
            "top1_accuracy": round(self.correct / self.in_scope, 4) if self.in_scope else None,
            "oos_recall": round(self.general / self.out_of_scope, 4) if self.out_of_scope else None,
            "p50_ms": round(percentile(self.latencies_ms, 50), 3),
            "p99_ms": round(percentile(self.latencies_ms, 99), 3),
        }


def percentile(values: list[float], q: int) -> float:
    """Return the ``q``-th percentile of ``values`` (inclusive method; the value itself for one)."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def evaluate(library: Library, questions: list[tuple[str, str]]) -> Evaluation:
    """Route every question through ``replies.sop_for_question`` and count."""
    result = Evaluation(n=len(questions))
    for question, expected in questions:
        started = time.perf_counter()
        reply = sop_for_question(library, question)
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        got = answered(reply.payload)
        if expected:
            result.in_scope += 1
            result.correct += got == expected
            if got != expected:
                result.misses.append((question, expected, got))
        else:
            result.out_of_scope += 1
            result.general += got == "general"
            if got != "general":
                result.misses.append((question, "general", got))
    return result


def build_library(*, library_json: Path | None = None, bundle: Path | None = None, lexical: bool = False) -> Library:
    """Return the ``Library`` of a library file or a bundle file, with this process's models
    (none with ``lexical``)."""
    from .semantic import default_engine

    if bundle is not None:
        raw = bundle.read_bytes()
    else:
        assert library_json is not None
        raw = canonical_bytes(payload_from_library(json.loads(library_json.read_text(encoding="utf-8"))))
    engine = None if lexical else default_engine()
    return Library.from_bytes(raw, bundle_sha256(raw), engine=engine)


def main(argv: list[str] | None = None) -> int:
    """The ``evaluate`` command: print misses (``--show-errors``), a summary line, the JSON line last."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mcp_bridge evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "files", nargs="+", type=Path, help="LIBRARY.json QUESTIONS.csv, or QUESTIONS.csv with --bundle"
    )
    parser.add_argument("--bundle", type=Path, help="a published bundle instead of a library file")
    parser.add_argument("--show-errors", type=int, default=0, metavar="N", help="print N wrong answers")
    parser.add_argument("--lexical", action="store_true", help="route by words only (no models), for comparison")
    args = parser.parse_args(argv)
    expected_files = 1 if args.bundle else 2
    if len(args.files) != expected_files:
        parser.error("give LIBRARY.json QUESTIONS.csv, or --bundle BUNDLE.json QUESTIONS.csv")
    for path in [*args.files, *([args.bundle] if args.bundle else [])]:
        if not path.exists():
            parser.error(f"no such file: {path}")
    library = build_library(
        library_json=None if args.bundle else args.files[0], bundle=args.bundle, lexical=args.lexical
    )
    try:
        questions = read_questions(args.files[-1])
    except ValueError as exc:
        parser.error(str(exc))
    result = evaluate(library, questions)
    for question, expected, got in result.misses[: args.show_errors]:
        print(f"MISS expected={expected} got={got or '(none)'} :: {question}")
    spaces = ", ".join(library.router.semantic) or "none (lexical)"
    print(
        f"library {library.sha256[:12]} ({len(library.sops)} SOPs, models: {spaces}); "
        f"{result.in_scope} in-scope and {result.out_of_scope} out-of-scope questions"
    )
    print(json.dumps(result.summary()))
    return 0
