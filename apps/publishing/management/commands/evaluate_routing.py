"""``manage.py evaluate_routing FILE.csv``: how well ``get_sop_for_question`` routes, measured on
the live bundle through the same code the bridge serves (``mcp_bridge.replies``).

CSV columns ``question,expected``; ``expected`` is ``category/key``, or empty when no SOP fits.
The last line printed is JSON: ``{"n", "top1_accuracy", "oos_recall", "p50_ms", "p99_ms"}`` where
top-1 accuracy counts in-scope questions answered with exactly the expected SOP, out-of-scope
recall counts out-of-scope questions answered "general", and latencies are per question.
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.publishing.selectors import current_bundle
from mcp_bridge.library import Library
from mcp_bridge.replies import sop_for_question


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class Command(BaseCommand):
    help = "Measure get_sop_for_question on a CSV of question,expected against the live bundle."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--show-errors", type=int, default=0, metavar="N", help="print N misrouted questions")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or {"question", "expected"} - set(reader.fieldnames):
                raise CommandError("The CSV needs the columns question,expected.")
            rows = [(r["question"], (r["expected"] or "").strip()) for r in reader]
        bundle = current_bundle()
        if bundle is None:
            raise CommandError("Nothing is published yet; publish SOPs (or run load_demo) first.")
        library = Library.from_bytes(bundle.payload.encode("utf-8"), bundle.sha256)
        latencies: list[float] = []
        in_scope = correct = out_of_scope = general = 0
        misses: list[tuple[str, str, str]] = []
        for question, expected in rows:
            started = time.perf_counter()
            reply = sop_for_question(library, question)
            latencies.append((time.perf_counter() - started) * 1000)
            payload = reply.payload if isinstance(reply.payload, dict) else {}
            got = f"{payload['category']}/{payload['sop_key']}" if "sop_key" in payload else payload.get("category", "")
            if expected:
                in_scope += 1
                correct += got == expected
                if got != expected and len(misses) < options["show_errors"]:
                    misses.append((question, expected, got))
            else:
                out_of_scope += 1
                general += payload.get("category") == "general"
        for question, expected, got in misses:
            self.stdout.write(f"MISS expected={expected} got={got} :: {question}")
        self.stdout.write(
            f"bundle {bundle.sha256[:12]} ({bundle.sop_count} SOPs); {in_scope} in-scope and "
            f"{out_of_scope} out-of-scope questions"
        )
        self.stdout.write(
            json.dumps(
                {
                    "n": len(rows),
                    "top1_accuracy": round(correct / in_scope, 4) if in_scope else None,
                    "oos_recall": round(general / out_of_scope, 4) if out_of_scope else None,
                    "p50_ms": round(_percentile(latencies, 50), 3),
                    "p99_ms": round(_percentile(latencies, 99), 3),
                }
            )
        )
