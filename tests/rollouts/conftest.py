"""Helpers for rollout tests (the fixtures ``fast_plan`` and ``candidate`` are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

from apps.rollouts.defaults import create_plan
from apps.rollouts.models import RolloutPlan


def make_plan(name: str, stages: list[tuple[int, int]], gates: list[tuple], category: Any = None) -> RolloutPlan:
    """Create a plan and, when ``category`` is given, make it that category's plan."""
    plan = create_plan(name, "test plan", stages, gates)
    if category is not None:
        category.rollout_plan = plan
        category.save(update_fields=["rollout_plan"])
    return plan


COMPLAINTS_AT_MOST_20_PERCENT = ("complaint_rate", "absolute", "<=", 0.2, 3600, 10)
