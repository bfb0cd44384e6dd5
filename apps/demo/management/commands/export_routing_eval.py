"""``manage.py export_routing_eval FILE.csv``: the held-out Banking77 questions plus the
out-of-scope ones, as ``question,expected`` rows for ``evaluate_routing``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.demo.banking77 import write_evaluation_csv


class Command(BaseCommand):
    help = "Write the demo library's routing evaluation set (CSV: question,expected)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        rows = write_evaluation_csv(options["file"])
        self.stdout.write(f"wrote {rows} rows to {options['file']}")
