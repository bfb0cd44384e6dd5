"""The default rollout plan: 5 → 10 → 50 → 100 % of conversations (seed 003), with outcome gates.

It is created after every ``migrate`` (and recreated if deleted) by ``ensure_default_plan``.
"""

from __future__ import annotations

from django.db import transaction

DEFAULT_PLAN_NAME = "Standard canary"
DEFAULT_PLAN_DESCRIPTION = (
    "5 → 10 → 50 → 100 % of conversations over a day; rolled back when complaints or escalations run "
    "50 % above stable's, or more than 5 % of outcomes are errors."
)
STAGES = [(5, 2 * 3600), (10, 6 * 3600), (50, 12 * 3600), (100, 0)]
"""(percentage, minimum soak in seconds) per stage."""
GATES = [
    ("complaint_rate", "relative", "<=", 1.5, 3600, 50),
    ("escalation_rate", "relative", "<=", 1.5, 3600, 50),
    ("error_rate", "absolute", "<=", 0.05, 3600, 50),
]
"""(metric, comparison, operator, threshold, window in seconds, minimum samples) on every stage below 100 %."""


def create_plan(
    name: str,
    description: str,
    stages: list[tuple[int, int]],
    gates: list[tuple],
    *,
    is_default: bool = False,
    using: str = "default",
):  # type: ignore[no-untyped-def]
    """Create a plan with ``stages`` and the same ``gates`` on each stage below 100 %; return it."""
    from .models import GateRule, PlanStage, RolloutPlan

    plan = RolloutPlan.objects.using(using).create(name=name, description=description, is_default=is_default)
    for position, (percentage, soak) in enumerate(stages):
        stage = PlanStage.objects.using(using).create(
            plan=plan, position=position, percentage=percentage, min_soak_seconds=soak
        )
        if percentage < 100:
            for metric, comparison, operator, threshold, window, samples in gates:
                GateRule.objects.using(using).create(
                    stage=stage,
                    metric=metric,
                    comparison=comparison,
                    operator=operator,
                    threshold=threshold,
                    window_seconds=window,
                    min_samples=samples,
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
