"""The system's decisions: check a rollout's gates and advance, wait or roll back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.publishing.models import PublicationCause

from ..models import ACTIVE_STATES, Rollout, RolloutState
from ..selectors import gate_results
from ._common import _lock
from .controls import _advance, _end_back_to_stable


@transaction.atomic
def rollout_evaluate(*, rollout_id: int, now: datetime | None = None) -> str:
    """Check the gates of an active rollout and act on them as the system; return what happened.

    * a gate fails (with enough samples): roll back to stable — ``"rolled_back"``;
    * paused: nothing more — ``"paused"``;
    * the stage's soak time is not over: ``"soaking"``;
    * a gate lacks samples once the soak is over: wait (audited once per stage) — ``"waiting"``;
    * otherwise: next stage, or complete at the last — ``"advanced"`` / ``"completed"``.

    Idempotent and safe to run from several workers: the rollout row is locked, and an ended
    rollout is left alone (``"inactive"``).
    """
    now = now or timezone.now()
    rollout = Rollout.objects.filter(pk=rollout_id).first()
    if rollout is None:
        return "inactive"
    rollout = _lock(rollout)
    if not rollout.is_active:
        return "inactive"
    results = gate_results(rollout, now)
    summary = [
        {k: r[k] for k in ("metric", "comparison", "operator", "threshold", "status", "value", "candidate")}
        | ({"stable": r["stable"]} if "stable" in r else {})
        for r in results
    ]
    waited = rollout.last_evaluation.get("waiting_audited_for_stage") == rollout.stage_index
    rollout.last_evaluation = {
        "at": now.isoformat(),
        "stage": rollout.stage_index,
        "gates": results,
        **({"waiting_audited_for_stage": rollout.stage_index} if waited else {}),
    }
    rollout.evaluated_at = now
    failed = [r for r in summary if r["status"] == "fail"]
    if failed:
        reason = "Gate failed: " + "; ".join(_describe(r) for r in failed)
        _end_back_to_stable(
            rollout,
            None,
            RolloutState.ROLLED_BACK,
            AuditAction.ROLLOUT_ROLLBACK,
            PublicationCause.ROLLOUT_ROLLBACK,
            reason,
            {"gates": summary},
        )
        return "rolled_back"
    if rollout.state == RolloutState.PAUSED:
        rollout.save(update_fields=["last_evaluation", "evaluated_at"])
        return "paused"
    if now - rollout.stage_started_at < timedelta(seconds=int(rollout.stage["min_soak_seconds"])):
        rollout.save(update_fields=["last_evaluation", "evaluated_at"])
        return "soaking"
    waiting = [r for r in summary if r["status"] == "inconclusive"]
    if waiting:
        if not waited:
            rollout.last_evaluation["waiting_audited_for_stage"] = rollout.stage_index
            audit_record(
                actor=None,
                action=AuditAction.ROLLOUT_WAIT,
                target=rollout,
                sop_slug=rollout.sop.slug,
                reason="Soak time over, but too few outcomes to judge: " + "; ".join(_describe(r) for r in waiting),
                data={"gates": summary, "stage": rollout.stage_index, "percentage": rollout.percentage},
            )
        rollout.save(update_fields=["last_evaluation", "evaluated_at"])
        return "waiting"
    completing = (
        rollout.stage_index + 1 >= len(rollout.stages) or rollout.stages[rollout.stage_index + 1]["percentage"] >= 100
    )
    reason = f"Stage {rollout.percentage} % soaked {int((now - rollout.stage_started_at).total_seconds())} s" + (
        " and every gate passed: " + "; ".join(_describe(r) for r in summary) if summary else " (no gates)"
    )
    _advance(rollout, None, reason, {"gates": summary})
    return "completed" if completing else "advanced"


def _describe(result: dict[str, Any]) -> str:
    """One line of a gate result for an audit reason, e.g. ``complaint rate ÷ stable's = 3.20 (≤ 1.5): fail, 60 vs 58 outcomes``."""
    name = result["metric"].replace("_", " ") + (" ÷ stable's" if result["comparison"] == "relative" else "")
    value = "n/a" if result["value"] is None else f"{result['value']:.3f}"
    samples = f"{result['candidate']['n']} candidate outcomes"
    if "stable" in result:
        samples += f", {result['stable']['n']} stable"
    return f"{name} = {value} (needs {result['operator']} {result['threshold']:g}): {result['status']}, {samples}"


def active_rollout_ids() -> list[int]:
    """Return the ids of running and paused rollouts."""
    return list(Rollout.objects.filter(state__in=ACTIVE_STATES).values_list("pk", flat=True))
