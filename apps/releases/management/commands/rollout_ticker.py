"""``manage.py rollout_ticker``: evaluate active rollouts every few seconds, in this process.

For set-ups without Celery beat (``make demo`` runs Celery in-process); production runs the
same evaluation from beat (``apps.releases.tasks.rollouts_tick``).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from apps.releases.services import active_rollout_ids
from apps.releases.tasks import rollouts_evaluate


class Command(BaseCommand):
    help = "Check the gates of active rollouts every --every seconds and act on them, until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=5.0, help="seconds between checks (default 5)")
        parser.add_argument("--once", action="store_true", help="check once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            close_old_connections()
            try:
                decisions = rollouts_evaluate(active_rollout_ids())
            except Exception as exc:
                self.stderr.write(f"rollout check failed: {exc}")
            else:
                for rollout_id, decision in decisions.items():
                    if decision in ("advanced", "completed", "rolled_back"):
                        self.stdout.write(f"rollout {rollout_id}: {decision}")
            if options["once"]:
                return
            time.sleep(options["every"])
