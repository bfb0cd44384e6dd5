"""Routing accuracy and latency of ``get_sop_for_question``: by meaning (what the bridge serves),
by words only, and a seed-style keyword matcher, side by side on the same questions.

Each sopgov row is ``python -m mcp_bridge evaluate`` (the served code path, threshold included)
in its own process, one after the other, so the latencies are one question at a time on one
core. Question sets (``data/routing``):

* ``banking77_test.csv``: the test half of the held-out Banking77 questions (4,638 in scope, 109
  out of scope) on the demo library (one SOP per intent, ten real example questions each) — never
  used to choose anything (the dev half was);
* ``ecommerce_zh_eval.csv``: 50 Chinese questions and 15 out of scope on nine seed-like Chinese
  SOPs, and the same questions on the English version of those SOPs (across languages).

The baseline is the seed server's method generalised to a library it was not hand-tuned for: a
category scores one point per keyword found in the question, where a category's keywords are
the words of its SOP keys; within the best category the SOP whose key shares the most words
with the question wins; no keyword means "general".

    python bench/routing_accuracy.py
"""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "routing"
RUNS = [
    ("Banking77 test half, demo library", "demo_library.json", "banking77_test.csv"),
    ("Chinese questions, Chinese library", "ecommerce_zh_library.json", "ecommerce_zh_eval.csv"),
    ("Chinese questions, English library", "ecommerce_en_library.json", "ecommerce_zh_eval.csv"),
]


def seed_style(library: dict[str, list[str]], question: str) -> str:
    """Return ``category/key`` or ``general``, as the seed's matcher would."""
    q = question.lower()
    keywords = {c: {w for k in keys for w in k.lower().split("_") if len(w) > 2} for c, keys in library.items()}
    scores = {c: sum(1 for w in words if w in q) for c, words in keywords.items()}
    scores = {c: s for c, s in scores.items() if s}
    if not scores:
        return "general"
    category = max(scores.items(), key=lambda item: item[1])[0]
    best, best_score = None, 0
    for key in library[category]:
        score = sum(1 for w in key.lower().split("_") if w in q)
        if score > best_score:
            best, best_score = key, score
    return f"{category}/{best}" if best else category


def seed_baseline(library_file: Path, questions_file: Path) -> dict[str, float]:
    library: dict[str, list[str]] = {}
    for row in json.loads(library_file.read_text(encoding="utf-8")):
        library.setdefault(row["category"], []).append(row["key"])
    rows = list(csv.DictReader(questions_file.open(encoding="utf-8")))
    latencies, answers = [], []
    for row in rows:
        started = time.perf_counter()
        answers.append(seed_style(library, row["question"]))
        latencies.append((time.perf_counter() - started) * 1000)
    in_scope = [(a, r["expected"]) for a, r in zip(answers, rows, strict=True) if r["expected"]]
    out_scope = [a for a, r in zip(answers, rows, strict=True) if not r["expected"]]
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "n": len(rows),
        "top1_accuracy": round(sum(a == e for a, e in in_scope) / len(in_scope), 4),
        "oos_recall": round(sum(a == "general" for a in out_scope) / len(out_scope), 4),
        "p50_ms": round(cuts[49], 3),
        "p99_ms": round(cuts[98], 3),
    }


def evaluate(library_file: Path, questions_file: Path, *extra: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_bridge", "evaluate", str(library_file), str(questions_file), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    results: dict[str, dict[str, dict[str, float]]] = {}
    print(f"{'questions':40} {'router':22} {'n':>6} {'top-1':>7} {'OOS':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for title, library, questions in RUNS:
        rows = {
            "sopgov, by meaning": evaluate(DATA / library, DATA / questions),
            "sopgov, by words only": evaluate(DATA / library, DATA / questions, "--lexical"),
            "seed-style keywords": seed_baseline(DATA / library, DATA / questions),
        }
        results[title] = rows
        for router, r in rows.items():
            print(
                f"{title:40} {router:22} {r['n']:>6} {r['top1_accuracy']:>7.1%} {r['oos_recall']:>7.1%} "
                f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}",
                flush=True,
            )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "routing_accuracy.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
