"""``manage.py load_demo``: demo users, categories, the published demo library and tokens."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.demo.loading import DEMO_USERS, load_demo


class Command(BaseCommand):
    help = "Load the demo: users in every role, the demo SOP library (published), agent and bridge tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tokens-file",
            type=Path,
            default=Path(".demo/tokens.env"),
            help="env file where the raw demo tokens are kept (default .demo/tokens.env)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("SOPGOV_DEMO_PASSWORD", "demo")
        result, tokens = load_demo(password=password, tokens_file=options["tokens_file"])
        self.stdout.write(
            f"Demo library: {result.sops_created} SOPs created, {result.published} versions published, "
            f"{result.unchanged} unchanged."
        )
        self.stdout.write(f"Users ({', '.join(DEMO_USERS)}) have the password from SOPGOV_DEMO_PASSWORD.")
        self.stdout.write(f"Tokens written to {options['tokens_file']}: {', '.join(tokens)}")
