"""Helpers for rollout tests (the fixtures ``fast_plan`` and ``candidate`` are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

from apps.rollouts.defaults import create_plan
from apps.rollouts.models import CategoryPlan, RolloutPlan


def make_plan(
    name: str, stages: list[tuple[int, int, int]], gates: list[tuple], category: Any = None, **settings: Any
) -> RolloutPlan:
    """Create a plan (stages ``(percentage, soak s, min outcomes)``, gates ``(metric, comparison,
    harm line)`` on each stage below 100 %) and, when ``category`` is given, make it that
    category's plan."""
    plan = create_plan(name, "test plan", stages, gates, **settings)
    if category is not None:
        CategoryPlan.objects.update_or_create(category=category, defaults={"plan": plan})
    return plan


COMPLAINTS_AT_MOST_20_PERCENT = ("complaint_rate", "absolute", 0.2)
COMPLAINTS_NOT_ABOVE_STABLE = ("complaint_rate", "relative", 1.0)
