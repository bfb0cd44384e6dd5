"""The system's release decisions: check a rollout's gates and served split, then roll back,
pause, wait or advance (``apps.rollouts.gates.decide``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.publishing.models import PublicationCause
from apps.rollouts import gates
from apps.rollouts.models import ACTIVE_STATES, Rollout, RolloutState
from apps.rollouts.selectors import gate_results, sample_ratio, stage_counts

from ._common import lock_rollout
from .notices import notify_automatic_decision
from .rollouts import advance, complete, pause, withdraw

OUTCOME = {
    "rollback": "rolled_back",
    "pause": "srm_paused",
    "paused": "paused",
    "soaking": "soaking",
    "waiting": "waiting",
    "advance": "advanced",
    "complete": "completed",
}
"""Decision kind → what ``rollout_evaluate`` returns."""


@transaction.atomic
def rollout_evaluate(*, rollout_id: int, now: datetime | None = None) -> str:
    """Judge an active rollout as the system and act on it; return what happened.

    ``rolled_back`` (a gate shows harm: everyone is served stable, owner and release managers
    are told), ``srm_paused`` (sample-ratio mismatch: paused, they are told), ``paused``,
    ``soaking``, ``waiting`` (minimum outcomes, data to compare, or non-inferiority missing;
    audited once per stage), ``advanced`` / ``completed``; ``inactive`` for an ended rollout.
    Every action is audited by ``system`` with the numbers behind it.

    Idempotent and safe from several workers: the rollout row is locked.
    """
    now = now or timezone.now()
    rollout = Rollout.objects.filter(pk=rollout_id).first()
    if rollout is None:
        return "inactive"
    rollout = lock_rollout(rollout)
    if not rollout.is_active:
        return "inactive"
    counts = stage_counts(rollout, now)
    results = gate_results(rollout, now, counts)
    ratio = sample_ratio(rollout, now)
    paused = rollout.state == RolloutState.PAUSED
    soaked = now - rollout.stage_started_at >= timedelta(seconds=int(rollout.stage["min_soak_seconds"]))
    decision = gates.decide(
        stages=rollout.stages,
        stage_index=rollout.stage_index,
        paused=paused,
        gates=results,
        sample_ratio=ratio,
        soaked=soaked,
        stage_candidate_outcomes=counts[-1].candidate_n if counts else 0,
        advance_on=rollout.advance_on,
    )
    waited = rollout.last_evaluation.get("waiting_audited_for_stage") == rollout.stage_index
    rollout.last_evaluation = {
        "at": now.isoformat(),
        "stage": rollout.stage_index,
        "gates": results,
        "split": ratio.as_dict() if ratio else None,
        "decision": decision.kind,
        "reason": decision.reason,
        **({"waiting_audited_for_stage": rollout.stage_index} if waited else {}),
    }
    rollout.evaluated_at = now
    numbers = {
        "gates": results,
        "split": ratio.as_dict() if ratio else None,
        "stage": rollout.stage_index,
        "percentage": rollout.percentage,
    }
    if decision.kind == "rollback":
        withdraw(
            rollout,
            None,
            RolloutState.ROLLED_BACK,
            AuditAction.ROLLOUT_ROLLBACK,
            PublicationCause.ROLLOUT_ROLLBACK,
            decision.reason,
            numbers,
        )
        notify_automatic_decision(rollout, "rolled_back", decision.reason)
    elif decision.kind == "pause":
        pause(rollout, None, AuditAction.ROLLOUT_SRM, decision.reason, numbers)
        notify_automatic_decision(rollout, "paused", decision.reason)
    elif decision.kind == "waiting":
        if not waited:
            rollout.last_evaluation["waiting_audited_for_stage"] = rollout.stage_index
            audit_record(
                actor=None,
                action=AuditAction.ROLLOUT_WAIT,
                target=rollout,
                sop_slug=rollout.sop.slug,
                reason=decision.reason,
                data=numbers,
            )
        rollout.save(update_fields=["last_evaluation", "evaluated_at"])
    elif decision.kind in ("advance", "complete"):
        soak = int((now - rollout.stage_started_at).total_seconds())
        reason = f"Stage {rollout.percentage} % soaked {soak} s with {counts[-1].candidate_n} candidate outcomes. {decision.reason}"
        if decision.kind == "complete":
            complete(rollout, None, reason, numbers)
        else:
            advance(rollout, None, reason, numbers)
    else:  # paused, soaking
        rollout.save(update_fields=["last_evaluation", "evaluated_at"])
    return OUTCOME[decision.kind]


def active_rollout_ids() -> list[int]:
    """Return the ids of running and paused rollouts."""
    return list(Rollout.objects.filter(state__in=ACTIVE_STATES).values_list("pk", flat=True))
