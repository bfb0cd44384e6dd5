"""``manage.py export_routing_eval DIR [--library FILE.json]``: the held-out Banking77 questions
plus the out-of-scope ones, in two halves (``DIR/banking77_dev.csv``, for tuning, and
``DIR/banking77_test.csv``, for reporting; ``apps.demo.banking77``), as ``question,expected`` rows
for ``evaluate_routing`` and ``python -m mcp_bridge evaluate``; with ``--library``, the demo
library in ``import_sops``' format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.demo.banking77 import SPLITS, write_evaluation_csv, write_library_json


class Command(BaseCommand):
    help = "Write the demo library's routing evaluation sets (CSV: question,expected), dev and test halves."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="where banking77_dev.csv and banking77_test.csv go")
        parser.add_argument("--library", type=Path, help="also write the demo library (import_sops format)")

    def handle(self, *args: Any, **options: Any) -> None:
        for split in SPLITS:
            path = options["directory"] / f"banking77_{split}.csv"
            rows = write_evaluation_csv(path, split)
            self.stdout.write(f"wrote {rows} rows to {path}")
        if options["library"]:
            sops = write_library_json(options["library"])
            self.stdout.write(f"wrote {sops} SOPs to {options['library']}")
