"""Rollout plans: the stages and gates a rollout follows, which categories use them, and their
audited edits (before/after)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import PermissionDenied

from ..models import CategoryPlan, PlanStage, RolloutPlan
from ..permissions import can_edit_plans

PLAN_FIELDS = ("name", "description", "is_default", "alpha", "advance_on")
"""The plan's own settings, recorded before/after on every edit."""


def plan_snapshot(plan: RolloutPlan | None) -> list[dict[str, Any]]:
    """Return ``plan``'s stages with their gates as plain data (what a rollout keeps):
    ``[{percentage, min_soak_seconds, min_outcomes, gates: [{metric, comparison, threshold}]}]``.

    Without a plan, or with one whose stages are empty, a single 100 % stage.
    """
    stages = []
    # Queried afresh: the plan instance may carry stages prefetched before an edit.
    for stage in PlanStage.objects.filter(plan=plan).prefetch_related("gates") if plan else []:
        stages.append(
            {
                "percentage": stage.percentage,
                "min_soak_seconds": stage.min_soak_seconds,
                "min_outcomes": stage.min_outcomes,
                "gates": [g.as_rule() for g in stage.gates.all()],
            }
        )
    return stages or [{"percentage": 100, "min_soak_seconds": 0, "min_outcomes": 0, "gates": []}]


def plan_state(plan: RolloutPlan | None) -> dict[str, Any]:
    """Return the plan as an audit event records it: its settings, stages and categories."""
    if plan is None or plan.pk is None:
        return {}
    stored = RolloutPlan.objects.filter(pk=plan.pk).first()
    if stored is None:
        return {}
    return {
        **{f: getattr(stored, f) for f in PLAN_FIELDS},
        "stages": plan_snapshot(stored),
        "categories": sorted(CategoryPlan.objects.filter(plan=stored).values_list("category__slug", flat=True)),
    }


@transaction.atomic
def rollout_plan_save(*, plan: RolloutPlan) -> RolloutPlan:
    """Save a plan's settings; making it the default unsets the old one."""
    if plan.is_default:
        RolloutPlan.objects.exclude(pk=plan.pk).filter(is_default=True).update(is_default=False)
    plan.save()
    return plan


@transaction.atomic
def rollout_plan_record_change(
    *, actor: Any, plan: RolloutPlan, before: dict[str, Any], categories: list[Any] | None = None
) -> None:
    """After a plan, its stages or gates were edited: assign ``categories`` to it (when given;
    others that used it fall back to the default plan) and audit the plan as it was
    (``before``, from ``plan_state``) and is, naming only what changed. Running rollouts keep
    the stages they started with.

    Raises:
        PermissionDenied: ``actor`` may not edit plans.
        InvalidInput: the stages do not rise strictly to 100 %.
    """
    from ..validation import check_stages

    if actor is not None and not can_edit_plans(actor):
        raise PermissionDenied("Only release managers and admins may change rollout plans.")
    check_stages([s["percentage"] for s in plan_snapshot(plan)])
    if categories is not None:
        chosen = {c.pk for c in categories}
        CategoryPlan.objects.filter(plan=plan).exclude(category_id__in=chosen).delete()
        for category in categories:
            CategoryPlan.objects.update_or_create(category=category, defaults={"plan": plan})
    after = plan_state(plan)
    changed = sorted(k for k in after if after.get(k) != before.get(k))
    if changed:
        audit_record(
            actor=actor,
            action=AuditAction.PLAN_CHANGE,
            target=plan,
            before={k: before.get(k) for k in changed},
            after={k: after[k] for k in changed},
            data={"created": not before, "changed": changed},
        )
