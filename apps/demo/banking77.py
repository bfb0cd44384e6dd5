"""The Banking77 part of the demo library, and the routing evaluation set built from it.

For each of the 77 intents, 10 questions from ``data/banking77/train.csv`` become the SOP's
example questions; the rest are held out, in two halves, as in CLINC150 (Larson et al., "An
Evaluation Dataset for Intent Classification and Out-of-Scope Prediction", EMNLP 2019):

* the **development** half (``data/routing/banking77_dev.csv``) is where the router's constants
  may be tuned, and where the demo's routing tests come from;
* the **test** half (``data/routing/banking77_test.csv``) is only ever scored: its numbers are the
  ones reported (``docs/BENCHMARKS.md``).

Out-of-scope questions (``library/out_of_scope.txt``, written for sopgov) alternate between the
halves. Every choice is a seeded shuffle per intent (``random.Random("banking77:<intent>")``),
so it is the same everywhere. Banking77: PolyAI, CC BY 4.0 (``data/banking77/README.md``).
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.conf import settings

EXAMPLES_PER_INTENT = 10
CATEGORY = "banking"
LIBRARY_DIR = Path(__file__).resolve().parent / "library"


def _train_csv() -> Path:
    return Path(settings.BASE_DIR) / "data" / "banking77" / "train.csv"


def sop_key_for_intent(intent: str) -> str:
    """Return the SOP key for a Banking77 intent: its name without characters keys do not
    allow (``reverted_card_payment?`` becomes ``reverted_card_payment``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "", intent)


def questions_by_intent() -> dict[str, list[str]]:
    """Return Banking77's training questions grouped by intent, in file order."""
    grouped: dict[str, list[str]] = defaultdict(list)
    with _train_csv().open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            grouped[row["category"]].append(row["text"].strip())
    return dict(grouped)


def split_examples(per_intent: int = EXAMPLES_PER_INTENT) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Return ``(examples, held_out)``: ``per_intent`` example questions per intent, and every
    other question as ``(question, "banking/<sop key>")``, both in a fixed, seeded order."""
    examples: dict[str, list[str]] = {}
    held_out: list[tuple[str, str]] = []
    for intent, questions in sorted(questions_by_intent().items()):
        order = list(range(len(questions)))
        random.Random(f"banking77:{intent}").shuffle(order)
        examples[intent] = [questions[i] for i in order[:per_intent]]
        held_out.extend((questions[i], f"{CATEGORY}/{sop_key_for_intent(intent)}") for i in order[per_intent:])
    return examples, held_out


def library_rows() -> list[dict[str, Any]]:
    """Return the 77 banking SOPs in the ``import_sops`` format, with their example questions."""
    texts = json.loads((LIBRARY_DIR / "banking77_intents.json").read_text(encoding="utf-8"))
    examples, _ = split_examples()
    return [
        {
            "category": CATEGORY,
            "key": sop_key_for_intent(intent),
            "title": texts[intent]["title"],
            "summary": texts[intent]["summary"],
            "content": texts[intent]["content"],
            "example_questions": examples[intent],
        }
        for intent in sorted(texts)
    ]


def out_of_scope_questions() -> list[str]:
    """Return the hand-written questions no demo SOP covers (the expected answer is "general")."""
    lines = (LIBRARY_DIR / "out_of_scope.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


SPLITS = ("dev", "test")


def evaluation_rows(split: str) -> list[tuple[str, str]]:
    """Return the ``(question, expected)`` rows of one half of the held-out questions: ``"dev"``
    (each intent's first half, in its seeded order, and the even-numbered out-of-scope questions)
    or ``"test"`` (the rest); out-of-scope rows have ``expected == ""``. Banking77 repeats a few
    questions word for word; a repeat of an example question or of an earlier held-out question is
    left out, so no text is in both halves or in the library.

    Raises:
        ValueError: ``split`` is neither ``"dev"`` nor ``"test"``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    examples, held_out = split_examples()
    seen = {q for questions in examples.values() for q in questions}
    by_slug: dict[str, list[str]] = defaultdict(list)
    for question, slug in held_out:
        if question not in seen:
            seen.add(question)
            by_slug[slug].append(question)
    rows: list[tuple[str, str]] = []
    for slug, questions in by_slug.items():
        half = len(questions) // 2
        chosen = questions[:half] if split == "dev" else questions[half:]
        rows.extend((q, slug) for q in chosen)
    parity = 0 if split == "dev" else 1
    rows.extend((q, "") for i, q in enumerate(out_of_scope_questions()) if i % 2 == parity)
    return rows


def write_evaluation_csv(path: Path, split: str) -> int:
    """Write ``question,expected`` rows of ``split`` (``evaluation_rows``) to ``path``; return
    the number of rows."""
    rows = evaluation_rows(split)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question", "expected"])
        writer.writerows(rows)
    return len(rows)


def write_library_json(path: Path) -> int:
    """Write the demo library (the seed's SOPs and the 77 banking ones) in the ``import_sops``
    format to ``path`` — what ``python -m mcp_bridge evaluate`` takes; return the number of SOPs."""
    rows = json.loads((LIBRARY_DIR / "customer_service.json").read_text(encoding="utf-8")) + library_rows()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return len(rows)


ROUTING_TESTS_PER_INTENT = 3


def routing_tests() -> dict[str, list[str]]:
    """Return ``{"banking/<sop key>": questions}``: the first ``ROUTING_TESTS_PER_INTENT``
    development questions of each intent, as the demo's routing tests (real questions the SOPs
    must keep answering; the router never learns from them)."""
    tests: dict[str, list[str]] = defaultdict(list)
    for question, slug in evaluation_rows("dev"):
        if not slug:
            continue
        if len(tests[slug]) < ROUTING_TESTS_PER_INTENT:
            tests[slug].append(question)
    return dict(tests)
