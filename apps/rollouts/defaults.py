"""The default rollout plan: 5 → 10 → 50 → 100 % of conversations (seed 003), with guardrail gates.

It is created after every ``migrate`` (and recreated if deleted) by ``ensure_default_plan``.
Its error rates are simulated in ``bench/rollout_gates.py`` (``docs/BENCHMARKS.md``).
"""

from __future__ import annotations

from django.db import transaction

DEFAULT_PLAN_NAME = "Standard canary"
DEFAULT_PLAN_DESCRIPTION = (
    "5 → 10 → 50 → 100 % of conversations over about a day. Rolled back when the candidate's complaint "
    "or escalation rate is clearly above stable's, or its error rate clearly above 5 %; α = 0.05 per rollout."
)
STAGES = [(5, 2 * 3600, 50), (10, 6 * 3600, 100), (50, 12 * 3600, 200), (100, 0, 0)]
"""(percentage, minimum soak in seconds, minimum candidate outcomes) per stage."""
GATES = [
    ("complaint_rate", "relative", 1.0),
    ("escalation_rate", "relative", 1.0),
    ("error_rate", "absolute", 0.05),
]
"""(metric, comparison, harm line) on every stage below 100 %."""


def create_plan(
    name: str,
    description: str,
    stages: list[tuple[int, int, int]],
    gates: list[tuple[str, str, float]],
    *,
    is_default: bool = False,
    alpha: float = 0.05,
    advance_on: str = "no_harm",
    using: str = "default",
):  # type: ignore[no-untyped-def]
    """Create a plan with ``stages`` and the same ``gates`` on each stage below 100 %; return it."""
    from .models import GateRule, PlanStage, RolloutPlan

    plan = RolloutPlan.objects.using(using).create(
        name=name, description=description, is_default=is_default, alpha=alpha, advance_on=advance_on
    )
    for position, (percentage, soak, min_outcomes) in enumerate(stages):
        stage = PlanStage.objects.using(using).create(
            plan=plan, position=position, percentage=percentage, min_soak_seconds=soak, min_outcomes=min_outcomes
        )
        if percentage < 100:
            for metric, comparison, threshold in gates:
                GateRule.objects.using(using).create(
                    stage=stage, metric=metric, comparison=comparison, threshold=threshold
                )
    return plan


def ensure_default_plan(using: str = "default") -> None:
    """Create the default plan unless a default plan exists."""
    from .models import RolloutPlan

    with transaction.atomic(using=using):
        if RolloutPlan.objects.using(using).filter(is_default=True).exists():
            return
        existing = RolloutPlan.objects.using(using).filter(name=DEFAULT_PLAN_NAME).first()
        if existing is not None:
            existing.is_default = True
            existing.save(update_fields=["is_default"])
            return
        create_plan(DEFAULT_PLAN_NAME, DEFAULT_PLAN_DESCRIPTION, STAGES, GATES, is_default=True, using=using)
