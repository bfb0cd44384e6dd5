"""``manage.py export_routing_eval FILE.csv [--library FILE.json]``: the held-out Banking77
questions plus the out-of-scope ones, as ``question,expected`` rows for ``evaluate_routing`` and
``python -m mcp_bridge evaluate``; with ``--library``, the demo library in ``import_sops``' format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.demo.banking77 import write_evaluation_csv, write_library_json


class Command(BaseCommand):
    help = "Write the demo library's routing evaluation set (CSV: question,expected)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--library", type=Path, help="also write the demo library (import_sops format)")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = write_evaluation_csv(options["file"])
        self.stdout.write(f"wrote {rows} rows to {options['file']}")
        if options["library"]:
            sops = write_library_json(options["library"])
            self.stdout.write(f"wrote {sops} SOPs to {options['library']}")
