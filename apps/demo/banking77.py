"""The Banking77 part of the demo library, and the routing evaluation set built from it.

For each of the 77 intents, 10 questions from ``data/banking77/train.csv`` become the SOP's
example questions; the rest are held out for ``evaluate_routing``. The choice is a seeded
shuffle per intent (``random.Random("banking77:<intent>")``), so it is the same everywhere.
Banking77: PolyAI, CC BY 4.0 (``data/banking77/README.md``).
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


def write_evaluation_csv(path: Path) -> int:
    """Write ``question,expected`` rows (held-out Banking77 questions, then out-of-scope ones with
    an empty expected value) to ``path``; return the number of rows."""
    _, held_out = split_examples()
    rows = held_out + [(q, "") for q in out_of_scope_questions()]
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
    """Return ``{"banking/<sop key>": questions}``: the first ``ROUTING_TESTS_PER_INTENT`` held-out
    questions of each intent, as the demo's routing tests (real questions the SOPs must keep
    answering; the router never learns from them)."""
    _, held_out = split_examples()
    tests: dict[str, list[str]] = defaultdict(list)
    for question, slug in held_out:
        if len(tests[slug]) < ROUTING_TESTS_PER_INTENT:
            tests[slug].append(question)
    return dict(tests)
