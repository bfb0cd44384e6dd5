"""The system's decisions on a rollout: roll back when harm is clear, pause on a sample-ratio
mismatch, wait for the stage's outcomes, advance when there is no evidence of harm."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from apps.agents.models import ToolCall
from apps.audit.models import AuditEvent
from apps.releases.models import ReleaseNotice
from apps.releases.services import rollout_evaluate
from apps.rollouts.models import Rollout, RolloutPlan
from apps.sops.models import SOP, SOPVersion
from tests.conftest import assert_one_event_per_status_change
from tests.releases.conftest import control, publish, report
from tests.rollouts.conftest import COMPLAINTS_NOT_ABOVE_STABLE, make_plan


@pytest.fixture(autouse=True)
def _every_status_change_audited_once(db: Any) -> Any:
    yield
    assert_one_event_per_status_change()


def soaked(rollout: Rollout) -> Any:
    return rollout.stage_started_at + timedelta(seconds=61)


def test_harm_clear__rolled_back_by_system_with_numbers(
    rollout: Rollout, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    # Given the candidate draws complaints in 18 of 30 conversations (the harm line is 20 %)
    report(candidate, "complaint", 18)
    report(candidate, "resolved", 12)
    # When the system evaluates, even before the soak time is over
    decision = rollout_evaluate(rollout_id=rollout.pk)
    # Then it rolls back; the audit events by the system carry the evidence
    assert decision == "rolled_back"
    rollout.refresh_from_db(), candidate.refresh_from_db()
    assert (rollout.state, rollout.percentage, candidate.status) == ("rolled_back", 0, "approved")
    event = AuditEvent.objects.get(action="rollout.rollback")
    assert (event.actor, event.actor_label) == (None, "system")
    assert event.reason.startswith("Harm is clear: complaint rate ≤ 20 %: 60.0 %")
    gate = event.data["gates"][0]
    assert (gate["candidate"]["n"], gate["candidate"]["events"], gate["status"]) == (30, 18, "harm")
    assert gate["lower"] > 0.2
    withdrawn = AuditEvent.objects.get(action="version.canary_withdraw")
    assert (withdrawn.actor_label, withdrawn.data["rollout_state"]) == ("system", "rolled_back")
    assert AuditEvent.objects.filter(action="bundle.publish", data__cause="rollout_rollback").exists()


def test_rolled_back__owner_and_release_managers_told(
    rollout: Rollout, candidate: SOPVersion, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    report(candidate, "complaint", 30)
    with django_capture_on_commit_callbacks(execute=True):
        assert rollout_evaluate(rollout_id=rollout.pk) == "rolled_back"
    notices = ReleaseNotice.objects.filter(rollout=rollout)
    assert {n.recipient.username for n in notices} == {"author", "release"}  # the owner, the release manager
    assert "reviewer" not in {n.recipient.username for n in notices}
    assert all(n.kind == "rolled_back" and "billing/refund_policy" in n.message for n in notices)
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) >= {"author@example.com", "release@example.com"}
    assert "Rolled back automatically" in mail.outbox[0].subject


def test_few_outcomes__no_decision_whatever_they_say(rollout: Rollout, candidate: SOPVersion) -> None:
    # 10 complaints in 10 would be clear harm if 10 outcomes were enough to judge; they are not
    report(candidate, "complaint", 10)
    assert rollout_evaluate(rollout_id=rollout.pk) == "soaking"
    assert Rollout.objects.get().last_evaluation["gates"][0]["status"] == "no_harm"


def test_one_bad_outcome_among_few__no_rollback(rollout: Rollout, candidate: SOPVersion) -> None:
    # 1 complaint in 3 is a 33 % point estimate, far above 20 %, but nowhere near clear
    report(candidate, "complaint", 1)
    report(candidate, "resolved", 2)
    assert rollout_evaluate(rollout_id=rollout.pk) == "soaking"
    rollout.refresh_from_db()
    gate = rollout.last_evaluation["gates"][0]
    assert (gate["status"], gate["estimate"]) == ("no_harm", pytest.approx(1 / 3))
    assert gate["upper"] > 0.2 > gate["lower"]
    assert gate["outcomes_to_decide"] > 0


def test_stage_needs_its_outcomes__waits_and_audits_once(rollout: Rollout, candidate: SOPVersion) -> None:
    report(candidate, "resolved", 5)  # the stage needs 10
    later = soaked(rollout)
    assert rollout_evaluate(rollout_id=rollout.pk, now=later) == "waiting"
    assert rollout_evaluate(rollout_id=rollout.pk, now=later + timedelta(seconds=30)) == "waiting"
    waits = AuditEvent.objects.filter(action="rollout.wait")
    assert waits.count() == 1
    assert "needs 5 more candidate outcomes" in waits.get().reason
    rollout.refresh_from_db()
    assert (rollout.state, rollout.percentage) == ("running", 10)


def test_no_evidence_of_harm__advances_then_completes(rollout: Rollout, candidate: SOPVersion) -> None:
    report(candidate, "resolved", 18)
    report(candidate, "complaint", 2)
    assert rollout_evaluate(rollout_id=rollout.pk) == "soaking"
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout)) == "advanced"
    rollout.refresh_from_db()
    assert (rollout.percentage, [e["percentage"] for e in rollout.stage_log]) == (50, [10, 50])
    advanced = AuditEvent.objects.get(action="rollout.advance")
    assert advanced.actor is None
    assert "No evidence of harm: complaint rate ≤ 20 %: 10.0 %" in advanced.reason
    assert (advanced.before["percentage"], advanced.after["percentage"]) == (10, 50)
    # The new stage needs its own outcomes
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout)) == "waiting"
    report(candidate, "resolved", 10)
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout)) == "completed"
    candidate.refresh_from_db()
    assert candidate.status == "live"
    assert AuditEvent.objects.filter(action="version.rollout_complete", actor_label="system").count() == 1


def test_paused__no_advance_but_harm_still_rolls_back(
    rollout: Rollout, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    report(candidate, "resolved", 20)
    rollout = control("pause", rollout, people["release"], "watching")
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout) + timedelta(hours=1)) == "paused"
    report(candidate, "complaint", 40)
    assert rollout_evaluate(rollout_id=rollout.pk) == "rolled_back"


def test_ended_rollout__evaluation_does_nothing(rollout: Rollout, people: dict[str, Any]) -> None:
    control("abort", rollout, people["release"], "stop")
    before = AuditEvent.objects.count()
    assert rollout_evaluate(rollout_id=rollout.pk) == "inactive"
    assert AuditEvent.objects.count() == before


@pytest.fixture
def relative_rollout(candidate: SOPVersion, sop: SOP, people: dict[str, Any]) -> Rollout:
    make_plan("relative", [(10, 60, 20), (100, 0, 0)], [COMPLAINTS_NOT_ABOVE_STABLE], sop.category)
    publish(candidate, people)
    return Rollout.objects.get()


def test_relative__zero_complaints_in_20_vs_stable_7_in_313__not_rolled_back(
    relative_rollout: Rollout, candidate: SOPVersion, live_version: SOPVersion
) -> None:
    # The case Laplace smoothing rolled back: a small candidate with no complaints at all
    report(live_version, "complaint", 7)
    report(live_version, "resolved", 306)
    report(candidate, "resolved", 20)
    assert rollout_evaluate(rollout_id=relative_rollout.pk, now=soaked(relative_rollout)) == "completed"


def test_relative__candidate_far_worse__rolled_back(
    relative_rollout: Rollout, candidate: SOPVersion, live_version: SOPVersion
) -> None:
    report(live_version, "complaint", 15)
    report(live_version, "resolved", 285)  # 5 %
    report(candidate, "complaint", 12)
    report(candidate, "resolved", 28)  # 30 %
    assert rollout_evaluate(rollout_id=relative_rollout.pk) == "rolled_back"
    gate = Rollout.objects.get().last_evaluation["gates"][0]
    assert gate["estimate"] == pytest.approx(6.0)
    assert gate["lower"] > 1.0


def test_relative__stable_has_no_outcomes__waits_for_something_to_compare(
    relative_rollout: Rollout, candidate: SOPVersion
) -> None:
    report(candidate, "resolved", 25)
    assert rollout_evaluate(rollout_id=relative_rollout.pk, now=soaked(relative_rollout)) == "waiting"
    assert "Nothing to compare yet" in Rollout.objects.get().last_evaluation["reason"]


def test_non_inferiority_plan__advances_only_when_shown(
    candidate: SOPVersion, live_version: SOPVersion, sop: SOP, people: dict[str, Any]
) -> None:
    make_plan(
        "ni",
        [(10, 60, 20), (100, 0, 0)],
        [("complaint_rate", "relative", 1.5)],
        sop.category,
        advance_on="non_inferiority",
    )
    publish(candidate, people)
    rollout = Rollout.objects.get()
    report(live_version, "complaint", 10)
    report(live_version, "resolved", 190)
    report(candidate, "complaint", 1)
    report(candidate, "resolved", 19)
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout)) == "waiting"
    assert "Non-inferiority not shown yet" in Rollout.objects.get().last_evaluation["reason"]
    # Many more outcomes at the same rates shrink the interval below the 1.5 × line
    report(live_version, "complaint", 300)
    report(live_version, "resolved", 5700)
    report(candidate, "complaint", 300)
    report(candidate, "resolved", 5700)
    decision = rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout))
    assert decision == "completed", Rollout.objects.get().last_evaluation["reason"]


def served(sop: SOP, variant: str, n: int, version: int) -> None:
    now = timezone.now()
    ToolCall.objects.bulk_create(
        ToolCall(
            call_id=uuid.uuid4(),
            called_at=now,
            bridge_id="b",
            tool="get_specific_sop",
            agent_name="bot",
            routing_key=f"{variant}-{i}-{uuid.uuid4()}",
            arguments_sha256="0" * 64,
            sop_slug=sop.slug,
            version_number=version,
            latency_ms=1.0,
            variant=variant,
        )
        for i in range(n)
    )


def test_sample_ratio_mismatch__paused_and_said_why(
    rollout: Rollout, sop: SOP, candidate: SOPVersion, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # At 10 %, 60 of 400 conversations on the candidate (15 %) is far off: χ² p ≈ 1e-4
    served(sop, "canary", 60, 2)
    served(sop, "stable", 340, 1)
    report(candidate, "resolved", 10)
    # Mid-stage the split is shown but not acted on; when the stage is due to advance it pauses
    assert rollout_evaluate(rollout_id=rollout.pk) == "soaking"
    with django_capture_on_commit_callbacks(execute=True):
        assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout)) == "srm_paused"
    rollout.refresh_from_db()
    assert rollout.state == "paused"
    event = AuditEvent.objects.get(action="rollout.srm")
    assert event.actor is None
    assert "Sample-ratio mismatch: 60 of 400 conversations (15.0 %)" in event.reason
    assert event.data["split"]["p_value"] < 0.001
    assert ReleaseNotice.objects.filter(rollout=rollout, kind="paused").exists()
    assert len(mail.outbox) == 1
    # A person resumes after looking: the split is judged afresh from then on, and it advances
    rollout = control("resume", rollout, people["release"], "a stale bridge, restarted")
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout) + timedelta(seconds=5)) == "advanced"


def test_split_as_planned__advances(rollout: Rollout, sop: SOP, candidate: SOPVersion) -> None:
    served(sop, "canary", 41, 2)
    served(sop, "stable", 359, 1)
    report(candidate, "resolved", 10)
    assert rollout_evaluate(rollout_id=rollout.pk, now=soaked(rollout)) == "advanced"


def test_outcomes_for_canary__evaluated_without_waiting_for_beat(
    rollout: Rollout, candidate: SOPVersion, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.releases.services import telemetry_ingest

    outcomes = [
        {
            "outcome_id": str(uuid.uuid4()),
            "category": "billing",
            "sop_key": "refund_policy",
            "version": 2,
            "routing_key": f"c{i}",
            "outcome": "complaint",
        }
        for i in range(30)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        result = telemetry_ingest(bridge_id="b1", calls=[], outcomes=outcomes)
    assert (result.outcomes, result.rejected) == (30, [])
    rollout.refresh_from_db()
    assert rollout.state == "rolled_back"


def test_fast_plan_fixture__shape(fast_plan: RolloutPlan) -> None:
    assert [(s.percentage, s.min_outcomes) for s in fast_plan.stages.all()] == [(10, 10), (50, 10), (100, 0)]
