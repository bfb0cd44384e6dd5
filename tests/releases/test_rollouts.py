"""Rollout controls: by role and state, signed where they change what agents are served,
audited with one event per version status change, a bundle whenever what is served changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput, InvalidTransition, PermissionDenied
from apps.releases import services
from apps.rollouts.models import Rollout, RolloutPlan
from apps.signatures.models import Signature
from apps.sops.models import SOPVersion
from tests.conftest import assert_one_event_per_status_change, sign
from tests.releases.conftest import bundle_entry, control


@pytest.fixture(autouse=True)
def _every_status_change_audited_once(db: Any) -> Any:
    yield
    assert_one_event_per_status_change()


CONTROL_STATES = {
    "advance": "running",
    "pause": "running",
    "resume": "paused",
    "abort": "running",
    "complete": "paused",
}
EXPECTED = {"advance": "running", "pause": "paused", "resume": "running", "abort": "aborted", "complete": "completed"}


@pytest.mark.parametrize("role", ["author", "reviewer", "release", "auditor", "admin", "nobody"])
@pytest.mark.parametrize("name", list(services.ROLLOUT_CONTROLS))
def test_control__by_role(name: str, role: str, rollout: Rollout, people: dict[str, Any]) -> None:
    if CONTROL_STATES[name] == "paused":
        rollout = control("pause", rollout, people["release"], "look")
    before = AuditEvent.objects.count()
    if role in ("release", "admin"):
        result = control(name, rollout, people[role])
        assert result.state == EXPECTED[name]
        event = AuditEvent.objects.filter(action=f"rollout.{name}").latest("id")
        assert (event.actor, event.reason) == (people[role], "because")
    else:
        with pytest.raises(PermissionDenied):
            services.ROLLOUT_CONTROLS[name](actor=people[role], rollout=rollout, reason="because")
        assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("name", ["advance", "complete", "abort"])
def test_signed_control__without_signature__refused(name: str, rollout: Rollout, people: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="e-signature"):
        services.ROLLOUT_CONTROLS[name](actor=people["release"], rollout=rollout, reason="because")
    rollout.refresh_from_db()
    assert rollout.state == "running"


@pytest.mark.parametrize(
    ("name", "meaning"), [("advance", "released_more"), ("complete", "released_all"), ("abort", "withdrawn")]
)
def test_signed_control__signature_on_candidate(
    name: str, meaning: str, rollout: Rollout, people: dict[str, Any]
) -> None:
    control(name, rollout, people["release"])
    signature = Signature.objects.get(action=f"rollout_{name}")
    assert (signature.meaning, signature.version_id, signature.content_sha256) == (
        meaning,
        rollout.candidate_version_id,
        rollout.candidate_version.content_sha256,
    )


@pytest.mark.parametrize(("name", "state"), [("resume", "running"), ("pause", "paused"), ("advance", "paused")])
def test_control__wrong_state__invalid_transition(
    name: str, state: str, rollout: Rollout, people: dict[str, Any]
) -> None:
    if state == "paused":
        rollout = control("pause", rollout, people["release"], "look")
    with pytest.raises(InvalidTransition):
        control(name, rollout, people["release"])


def test_control__ended_rollout__invalid_transition(rollout: Rollout, people: dict[str, Any]) -> None:
    rollout = control("abort", rollout, people["release"], "no")
    for name in services.ROLLOUT_CONTROLS:
        with pytest.raises(InvalidTransition, match="aborted"):
            control(name, rollout, people["release"])


def test_control__without_reason__invalid_input(rollout: Rollout, people: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        control("pause", rollout, people["release"], " ")


def test_advance__walks_stages_then_completes(
    rollout: Rollout, candidate: SOPVersion, live_version: SOPVersion, people: dict[str, Any]
) -> None:
    rollout = control("advance", rollout, people["release"], "looks fine")
    assert (rollout.stage_index, rollout.percentage, [e["percentage"] for e in rollout.stage_log]) == (1, 50, [10, 50])
    assert bundle_entry("billing/refund_policy")["canary"]["percentage"] == 50
    rollout = control("advance", rollout, people["release"], "looks fine")
    assert (rollout.state, rollout.percentage) == ("completed", 100)
    candidate.refresh_from_db(), live_version.refresh_from_db()
    assert (candidate.status, live_version.status) == ("live", "superseded")
    completed = AuditEvent.objects.get(action="version.rollout_complete")
    assert (completed.before["status"], completed.after["status"]) == ("canary", "live")
    entry = bundle_entry("billing/refund_policy")
    assert entry["version"] == 2 and "canary" not in entry


def test_abort__canary_withdrawn_everyone_on_stable(
    rollout: Rollout, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    rollout = control("abort", rollout, people["release"], "wrong tone")
    candidate.refresh_from_db()
    assert (rollout.state, rollout.percentage, candidate.status) == ("aborted", 0, "approved")
    withdrawn = AuditEvent.objects.get(action="version.canary_withdraw")
    assert (withdrawn.before["status"], withdrawn.after["status"], withdrawn.reason) == (
        "canary",
        "approved",
        "wrong tone",
    )
    assert withdrawn.data["rollout_state"] == "aborted"
    entry = bundle_entry("billing/refund_policy")
    assert entry["version"] == 1 and "canary" not in entry


def test_pause_resume__paused_time_not_counted_as_soak(rollout: Rollout, people: dict[str, Any]) -> None:
    rollout = control("pause", rollout, people["release"], "look")
    started = rollout.stage_started_at
    Rollout.objects.filter(pk=rollout.pk).update(paused_at=rollout.paused_at - timedelta(minutes=10))
    rollout = control("resume", Rollout.objects.get(pk=rollout.pk), people["release"], "fine")
    assert timedelta(minutes=9) < rollout.stage_started_at - started < timedelta(minutes=11)
    assert "split_checked_from" in rollout.stage_log[-1]


def test_rollout_complete__with_plan_snapshot_kept(
    rollout: Rollout, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    # Editing the plan while the rollout runs does not change the rollout
    stage = fast_plan.stages.first()
    stage.percentage = 20
    stage.save()
    rollout.refresh_from_db()
    assert rollout.stages[0]["percentage"] == 10
    assert sign(people["release"], "rollout_complete").meaning == "released_all"
