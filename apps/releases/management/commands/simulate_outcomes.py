"""``manage.py simulate_outcomes CATEGORY/KEY``: report made-up conversation outcomes, to watch a
rollout advance or roll back in the demo. Outcomes go through the same service as agents' reports,
attributed by sticky bucketing to the version each conversation is served."""

from __future__ import annotations

import random
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.errors import ApplicationError
from apps.releases.services import outcome_report
from apps.rollouts.models import OutcomeSource
from apps.rollouts.services import served_version
from apps.sops.models import SOP


class Command(BaseCommand):
    help = "Report simulated outcomes for an SOP (demo and manual testing only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sop", help="category/key")
        parser.add_argument("--conversations", type=int, default=200)
        parser.add_argument("--complaint-rate", type=float, default=0.03, help="for conversations served stable")
        parser.add_argument("--candidate-complaint-rate", type=float, default=0.03, help="for those served the canary")
        parser.add_argument("--escalation-rate", type=float, default=0.05)
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        category, _, key = options["sop"].partition("/")
        sop = SOP.objects.filter(category__slug=category, key=key).first()
        if sop is None:
            raise CommandError(f"No SOP {options['sop']}.")
        rng = random.Random(options["seed"])
        counts: dict[tuple[int, str], int] = {}
        for _ in range(options["conversations"]):
            routing_key = f"sim-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            try:
                version, _bucket = served_version(sop=sop, routing_key=routing_key)
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            complaint = options["candidate_complaint_rate"] if version.status == "canary" else options["complaint_rate"]
            roll = rng.random()
            kind = (
                "complaint"
                if roll < complaint
                else "escalated"
                if roll < complaint + options["escalation_rate"]
                else "resolved"
            )
            outcome_report(
                reporter="simulator",
                category=category,
                sop_key=key,
                routing_key=routing_key,
                outcome=kind,
                version=version.number,
                source=OutcomeSource.API,
            )
            counts[(version.number, kind)] = counts.get((version.number, kind), 0) + 1
        for (number, kind), n in sorted(counts.items()):
            self.stdout.write(f"v{number} {kind}: {n}")
