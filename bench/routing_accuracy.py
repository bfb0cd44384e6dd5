"""Routing accuracy of ``get_sop_for_question`` on the demo library, beside a seed-style matcher.

The bridge's router is measured by ``manage.py evaluate_routing`` (the served code path) on
``data/routing/banking77_eval.csv``: 9,233 held-out Banking77 questions plus 80 out-of-scope
ones. The baseline is the seed server's method generalised to a library it was not hand-tuned
for: a category scores one point per keyword found in the question, where a category's
keywords are the words of its SOP keys; within the best category the SOP whose key shares the
most words with the question wins; no keyword means "general".

    python bench/routing_accuracy.py
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, demo_stack

EVAL = ROOT / "data" / "routing" / "banking77_eval.csv"


def seed_style(library: dict[str, list[str]], question: str) -> str:
    """Return ``category/key``, ``category`` or ``""`` (general), as the seed's matcher would."""
    q = question.lower()
    keywords = {c: {w for k in keys for w in k.lower().split("_") if len(w) > 2} for c, keys in library.items()}
    scores = {c: sum(1 for w in words if w in q) for c, words in keywords.items()}
    scores = {c: s for c, s in scores.items() if s}
    if not scores:
        return ""
    category = max(scores.items(), key=lambda item: item[1])[0]
    best, best_score = None, 0
    for key in library[category]:
        score = sum(1 for w in key.lower().split("_") if w in q)
        if score > best_score:
            best, best_score = key, score
    return f"{category}/{best}" if best else category


def main() -> None:
    with demo_stack(bridge=False, anchor=False) as stack:
        output = stack.manage("evaluate_routing", str(EVAL))
        ours = json.loads(output.strip().splitlines()[-1])
        keys = stack.manage(
            "shell",
            "-c",
            "import json; from apps.sops.models import SOP; "
            "print(json.dumps(list(SOP.objects.values_list('category__slug', 'key'))))",
        )
    library: dict[str, list[str]] = {}
    for category, key in json.loads(keys.strip().splitlines()[-1]):
        library.setdefault(category, []).append(key)
    rows = list(csv.DictReader(EVAL.open(encoding="utf-8")))
    started = time.perf_counter()
    answers = [seed_style(library, r["question"]) for r in rows]
    elapsed = (time.perf_counter() - started) * 1000 / len(rows)
    in_scope = [(a, r["expected"]) for a, r in zip(answers, rows, strict=False) if r["expected"]]
    out_scope = [a for a, r in zip(answers, rows, strict=False) if not r["expected"]]
    baseline = {
        "n": len(rows),
        "top1_accuracy": round(sum(a == e for a, e in in_scope) / len(in_scope), 4),
        "oos_recall": round(sum(a == "" for a in out_scope) / len(out_scope), 4),
        "mean_ms": round(elapsed, 3),
    }
    print(json.dumps({"router": "sopgov (fused BM25)", **ours}))
    print(json.dumps({"router": "seed-style keywords", **baseline}))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "routing_accuracy.json").write_text(json.dumps({"sopgov": ours, "seed_style": baseline}, indent=2))


if __name__ == "__main__":
    main()
