"""Rollout plans: the stages and gates a rollout follows, and their audited edits."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit.models import AuditAction
from apps.audit.services import audit_record

from ..models import RolloutPlan


def plan_snapshot(plan: RolloutPlan | None) -> list[dict[str, Any]]:
    """Return ``plan``'s stages with their gates as plain data (what a rollout keeps).

    Without a plan, or with one whose stages are empty, a single 100 % stage.
    """
    from ..models import PlanStage

    stages = []
    # Queried afresh: the plan instance may carry stages prefetched before an edit.
    for stage in PlanStage.objects.filter(plan=plan).prefetch_related("gates") if plan else []:
        stages.append(
            {
                "percentage": stage.percentage,
                "min_soak_seconds": stage.min_soak_seconds,
                "gates": [g.as_rule() for g in stage.gates.all()],
            }
        )
    return stages or [{"percentage": 100, "min_soak_seconds": 0, "gates": []}]


@transaction.atomic
def rollout_plan_save(*, plan: RolloutPlan) -> RolloutPlan:
    """Save a plan's name, description and default flag; making it the default unsets the old one."""
    if plan.is_default:
        RolloutPlan.objects.exclude(pk=plan.pk).filter(is_default=True).update(is_default=False)
    plan.save()
    return plan


@transaction.atomic
def rollout_plan_record_change(
    *, actor: Any, plan: RolloutPlan, before: list[dict[str, Any]], categories: list[Any] | None = None
) -> None:
    """After a plan and its stages were edited: assign ``categories`` to it (when given; others
    that used it fall back to the default plan) and audit the plan as it was and is. Running
    rollouts keep the stages they started with.

    Raises:
        InvalidInput: the stages do not rise strictly to 100 %.
    """
    from apps.sops.models import Category

    from ..validation import check_stages

    after = plan_snapshot(plan)
    check_stages([s["percentage"] for s in after])
    data: dict[str, Any] = {}
    if categories is not None:
        chosen = {c.pk for c in categories}
        for category in Category.objects.filter(rollout_plan=plan).exclude(pk__in=chosen):
            category.rollout_plan = None
            category.save(update_fields=["rollout_plan"])
        for category in Category.objects.filter(pk__in=chosen).exclude(rollout_plan=plan):
            category.rollout_plan = plan
            category.save(update_fields=["rollout_plan"])
        data["categories"] = sorted(c.slug for c in categories)
    if after != before or data:
        audit_record(
            actor=actor,
            action=AuditAction.PLAN_CHANGE,
            target=plan,
            before={"stages": before},
            after={"stages": after, **data},
        )
