"""``manage.py evaluate_routing FILE.csv``: how well ``get_sop_for_question`` routes the live
bundle — a thin wrapper over ``python -m mcp_bridge evaluate --bundle`` (the same code path the
bridge serves, models and threshold included).

CSV columns ``question,expected``; ``expected`` is ``category/key``, or empty when no SOP fits.
The last line printed is JSON: ``{"n", "top1_accuracy", "oos_recall", "p50_ms", "p99_ms"}``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.publishing.selectors import current_bundle
from mcp_bridge.evaluate import main as evaluate


class Command(BaseCommand):
    help = "Measure get_sop_for_question on a CSV of question,expected against the live bundle."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--show-errors", type=int, default=0, metavar="N", help="print N misrouted questions")
        parser.add_argument("--lexical", action="store_true", help="route by words only, for comparison")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["file"].exists():
            raise CommandError(f"No such file: {options['file']}")
        bundle = current_bundle()
        if bundle is None:
            raise CommandError("Nothing is published yet; publish SOPs (or run load_demo) first.")
        with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as raw:
            raw.write(bundle.payload)
            raw.flush()
            argv = ["--bundle", raw.name, str(options["file"]), "--show-errors", str(options["show_errors"])]
            evaluate([*argv, *(["--lexical"] if options["lexical"] else [])])
