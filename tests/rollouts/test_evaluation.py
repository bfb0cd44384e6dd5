"""Automatic decisions: roll back on a failed gate, wait for samples, advance after the soak."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.rollouts.models import OutcomeSource, Rollout, RolloutPlan
from apps.rollouts.selectors import gate_result
from apps.rollouts.services import outcomes_record, rollout_evaluate, rollout_pause
from apps.sops import services
from apps.sops.models import SOPVersion
from tests.conftest import sign
from tests.rollouts.conftest import make_plan


def report(version: SOPVersion, outcome: str, n: int) -> None:
    records = [
        {
            "outcome_id": str(uuid.uuid4()),
            "version_id": version.pk,
            "routing_key": f"conv-{uuid.uuid4()}",
            "outcome": outcome,
        }
        for _ in range(n)
    ]
    stored, rejected = outcomes_record(records=records, source=OutcomeSource.AGENT)
    assert (stored, rejected) == (n, [])


@pytest.fixture
def rollout(candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]) -> Rollout:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate, reason="start"
    )
    return Rollout.objects.get()


def soaked(rollout: Rollout) -> Any:
    return rollout.stage_started_at + timedelta(seconds=61)


def test_gate_fails__rolled_back_by_system_with_numbers(rollout: Rollout, candidate: SOPVersion) -> None:
    # Given the candidate draws complaints in 6 of 12 conversations (50 % > the 20 % allowed)
    report(candidate, "complaint", 6)
    report(candidate, "resolved", 6)
    # When the system evaluates, even before the soak time is over
    decision = rollout_evaluate(rollout_id=rollout.pk)
    # Then it rolls back, and the audit event by the system carries the evidence
    assert decision == "rolled_back"
    rollout.refresh_from_db(), candidate.refresh_from_db()
    assert (rollout.state, rollout.percentage, candidate.status) == ("rolled_back", 0, "approved")
    event = AuditEvent.objects.get(action="rollout.rollback")
    assert (event.actor, event.actor_label) == (None, "system")
    assert "complaint rate = 0.500 (needs <= 0.2): fail, 12 candidate outcomes" in event.reason
    gate = event.data["gates"][0]
    assert (gate["candidate"]["n"], gate["candidate"]["events"], gate["status"]) == (12, 6, "fail")
    assert AuditEvent.objects.filter(action="bundle.publish", data__cause="rollout_rollback").exists()


def test_too_few_samples__waits_and_audits_once(rollout: Rollout, candidate: SOPVersion) -> None:
    report(candidate, "complaint", 5)  # 5 of 5, but 10 are needed to judge
    assert rollout_evaluate(rollout_id=rollout.pk) == "soaking"
    later = soaked(rollout)
    assert rollout_evaluate(rollout_id=rollout.pk, now=later) == "waiting"
    assert rollout_evaluate(rollout_id=rollout.pk, now=later + timedelta(seconds=30)) == "waiting"
    waits = AuditEvent.objects.filter(action="rollout.wait")
    assert waits.count() == 1
    assert "too few outcomes" in waits.get().reason
    rollout.refresh_from_db()
    assert (rollout.state, rollout.percentage) == ("running", 10)
    assert rollout.last_evaluation["gates"][0]["status"] == "inconclusive"


def test_gates_pass_after_soak__advances_then_completes(rollout: Rollout, candidate: SOPVersion) -> None:
    report(candidate, "resolved", 18)
    report(candidate, "complaint", 2)  # 10 % ≤ 20 %
    assert rollout_evaluate(rollout_id=rollout.pk) == "soaking"
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout)) == "advanced"
    rollout.refresh_from_db()
    assert rollout.percentage == 50
    advance = AuditEvent.objects.get(action="rollout.advance")
    assert advance.actor is None
    assert "every gate passed: complaint rate = 0.100" in advance.reason
    assert (advance.before["percentage"], advance.after["percentage"]) == (10, 50)
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout)) == "completed"
    candidate.refresh_from_db()
    assert candidate.status == "live"


def test_paused__no_advance_but_failing_gate_still_rolls_back(
    rollout: Rollout, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    report(candidate, "resolved", 20)
    rollout = rollout_pause(actor=people["release"], rollout=rollout, reason="watching")
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout) + timedelta(hours=1)) == "paused"
    report(candidate, "complaint", 20)
    assert rollout_evaluate(rollout_id=rollout.pk) == "rolled_back"


def test_ended_rollout__evaluation_does_nothing(rollout: Rollout, people: dict[str, Any]) -> None:
    from apps.rollouts.services import rollout_abort

    rollout_abort(actor=people["release"], rollout=rollout, reason="stop")
    before = AuditEvent.objects.count()
    assert rollout_evaluate(rollout_id=rollout.pk) == "inactive"
    assert AuditEvent.objects.count() == before


def test_relative_gate__smoothed_ratio_to_stable(
    candidate: SOPVersion, live_version: SOPVersion, sop: Any, people: dict[str, Any]
) -> None:
    make_plan("relative", [(10, 60), (100, 0)], [("escalation_rate", "relative", "<=", 1.5, 3600, 10)], sop.category)
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    rollout = Rollout.objects.get()
    report(live_version, "escalated", 0)
    report(live_version, "resolved", 98)  # stable: 0 of 98 → smoothed 1/100
    report(candidate, "escalated", 1)
    report(candidate, "resolved", 9)  # candidate: 1 of 10 → smoothed 2/12
    result = gate_result(rollout.stage["gates"][0], rollout, timezone.now())
    assert result["value"] == pytest.approx((2 / 12) / (1 / 100))
    assert result["status"] == "fail"
    assert (result["stable"]["n"], result["candidate"]["n"]) == (98, 10)


def test_outcomes_for_canary__evaluated_without_waiting_for_beat(
    rollout: Rollout, candidate: SOPVersion, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        report(candidate, "complaint", 10)
    rollout.refresh_from_db()
    assert rollout.state == "rolled_back"
