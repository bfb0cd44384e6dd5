"""Outcome signals in, decisions out: storing agents' outcome reports and bridges' telemetry,
then re-evaluating the rollouts they concern right after commit, so harm does not wait for the
next beat tick."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.agents.telemetry import TelemetryResult, telemetry_record
from apps.core.tasks import enqueue_on_commit
from apps.rollouts.models import ACTIVE_STATES, Outcome, OutcomeSource, Rollout
from apps.rollouts.services import OutcomesRecorded, outcomes_record
from apps.rollouts.services import outcome_report as rollouts_outcome_report


def _evaluate_after_commit(rollout_ids: set[int]) -> None:
    if rollout_ids:
        from ..tasks import rollouts_evaluate

        enqueue_on_commit(rollouts_evaluate, sorted(rollout_ids))


@transaction.atomic
def outcome_report(*, reporter: str, source: OutcomeSource = OutcomeSource.API, **fields: Any) -> Outcome:
    """Record how one conversation ended (``rollouts.services.outcome_report``: ``category``,
    ``sop_key``, ``routing_key``, ``outcome``, ``version?``) and re-evaluate the rollout whose
    candidate it concerns. Return the outcome.

    Raises:
        NotFound / InvalidInput: as ``rollouts.services.outcome_report``.
    """
    outcome = rollouts_outcome_report(reporter=reporter, source=source, **fields)
    rollout_ids = set(
        Rollout.objects.filter(state__in=ACTIVE_STATES, candidate_version_id=outcome.version_id).values_list(
            "pk", flat=True
        )
    )
    _evaluate_after_commit(rollout_ids)
    return outcome


@transaction.atomic
def outcomes_ingest(*, records: list[Any], source: OutcomeSource, reporter: str = "") -> OutcomesRecorded:
    """Store outcome records (``rollouts.services.outcomes_record``) and re-evaluate the rollouts
    whose candidate they concern, after commit. Return what was stored and rejected."""
    recorded = outcomes_record(records=records, source=source, reporter=reporter)
    _evaluate_after_commit(set(recorded.rollout_ids))
    return recorded


@transaction.atomic
def telemetry_ingest(*, bridge_id: str, calls: Any, outcomes: Any) -> TelemetryResult:
    """Store a bridge's batch of tool calls and outcomes (``agents.telemetry.telemetry_record``),
    each record judged on its own; re-evaluate the rollouts whose candidate got outcomes. Return
    what was stored and rejected.

    Raises:
        InvalidInput: ``calls`` or ``outcomes`` is not a list, or the batch is too large.
    """
    result = telemetry_record(bridge_id=bridge_id, calls=calls, outcomes=outcomes)
    rollout_ids: set[int] = set()
    if result.error_outcomes:
        rollout_ids.update(outcomes_record(records=result.error_outcomes, source=OutcomeSource.BRIDGE).rollout_ids)
    recorded = outcomes_record(records=[r for _, r in result.agent_outcomes], source=OutcomeSource.AGENT)
    rollout_ids.update(recorded.rollout_ids)
    result.outcomes = recorded.stored
    result.rejected.extend(
        {"kind": "outcome", "index": result.agent_outcomes[b["index"]][0], "error": b["error"]}
        for b in recorded.rejected
    )
    _evaluate_after_commit(rollout_ids)
    return result
