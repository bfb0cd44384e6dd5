"""Rollouts through the services: start, controls by role and state, audit and bundles."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput, InvalidTransition, PermissionDenied
from apps.publishing.selectors import current_bundle
from apps.rollouts.models import Rollout, RolloutPlan
from apps.rollouts.services import ROLLOUT_CONTROLS, rollout_pause, rollout_resume
from apps.sops import services
from apps.sops.models import SOP, SOPVersion
from tests.conftest import advance, draft, sign


def bundle_entry(slug: str) -> dict[str, Any]:
    bundle = current_bundle()
    assert bundle is not None
    return next(e for e in json.loads(bundle.payload)["sops"] if f"{e['category']}/{e['key']}" == slug)


def test_publish__live_version_exists__rollout_at_first_stage(
    candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    version = services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate, reason="try it"
    )
    assert version.status == "canary"
    rollout = Rollout.objects.get()
    assert (rollout.state, rollout.percentage, rollout.stable_version.number, rollout.plan_name) == (
        "running",
        10,
        1,
        "fast",
    )
    assert [s["percentage"] for s in rollout.stages] == [10, 50, 100]
    entry = bundle_entry("billing/refund_policy")
    assert (entry["version"], entry["canary"]["version"], entry["canary"]["percentage"]) == (1, 2, 10)
    assert len(entry["salt"]) == 16
    start = AuditEvent.objects.get(action="rollout.start")
    assert (start.actor, start.data["stages"], start.reason) == (people["release"], [10, 50, 100], "try it")


def test_publish__first_version__straight_to_live(sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author"]), people, "approved")
    assert (
        services.sop_version_publish(
            actor=people["release"], signature=sign(people["release"], "publish"), version=version
        ).status
        == "live"
    )
    assert not Rollout.objects.exists()


def test_publish__immediate__live_at_once(candidate: SOPVersion, people: dict[str, Any]) -> None:
    version = services.sop_version_publish(
        actor=people["release"],
        signature=sign(people["release"], "publish"),
        version=candidate,
        reason="hotfix",
        immediate=True,
    )
    assert version.status == "live"
    assert not Rollout.objects.exists()
    assert "immediate" in AuditEvent.objects.filter(action="version.publish").latest("id").reason


def test_default_plan__used_when_category_names_none(candidate: SOPVersion, people: dict[str, Any]) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    rollout = Rollout.objects.get()
    assert rollout.plan_name == "Standard canary"
    assert [s["percentage"] for s in rollout.stages] == [5, 10, 50, 100]
    assert rollout.stages[0]["min_soak_seconds"] == 7200


def test_one_rollout_per_sop__publish_retire_rollback_refused_meanwhile(
    candidate: SOPVersion, fast_plan: RolloutPlan, live_version: SOPVersion, people: dict[str, Any]
) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    third = advance(draft(candidate.sop, people["author"], content="## v3"), people, "approved")
    for attempt in (
        lambda: services.sop_version_publish(
            actor=people["release"], signature=sign(people["release"], "publish"), version=third
        ),
        lambda: services.sop_version_retire(
            actor=people["release"], signature=sign(people["release"], "retire"), version=live_version, reason="x"
        ),
    ):
        with pytest.raises(InvalidTransition, match="rollout in progress"):
            attempt()
    assert Rollout.objects.count() == 1


CONTROL_STATES = {
    "advance": "running",
    "pause": "running",
    "resume": "paused",
    "abort": "running",
    "complete": "paused",
}


@pytest.mark.parametrize("role", ["author", "reviewer", "release", "auditor", "admin", "nobody"])
@pytest.mark.parametrize("control", list(ROLLOUT_CONTROLS))
def test_control__by_role(
    control: str, role: str, candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    rollout = Rollout.objects.get()
    if CONTROL_STATES[control] == "paused":
        rollout = rollout_pause(actor=people["release"], rollout=rollout, reason="look")
    before = AuditEvent.objects.count()
    if role in ("release", "admin"):
        result = ROLLOUT_CONTROLS[control](actor=people[role], rollout=rollout, reason="because")
        expected = {
            "advance": "running",
            "pause": "paused",
            "resume": "running",
            "abort": "aborted",
            "complete": "completed",
        }
        assert result.state == expected[control]
        event = AuditEvent.objects.filter(action=f"rollout.{control}").latest("id")
        assert (event.actor, event.reason) == (people[role], "because")
    else:
        with pytest.raises(PermissionDenied):
            ROLLOUT_CONTROLS[control](actor=people[role], rollout=rollout, reason="because")
        assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(("control", "state"), [("resume", "running"), ("pause", "paused"), ("advance", "paused")])
def test_control__wrong_state__invalid_transition(
    control: str, state: str, candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    rollout = Rollout.objects.get()
    if state == "paused":
        rollout = rollout_pause(actor=people["release"], rollout=rollout, reason="look")
    with pytest.raises(InvalidTransition):
        ROLLOUT_CONTROLS[control](actor=people["release"], rollout=rollout, reason="x")


def test_control__ended_rollout__invalid_transition(
    candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    rollout = ROLLOUT_CONTROLS["abort"](actor=people["release"], rollout=Rollout.objects.get(), reason="no")
    for control in ROLLOUT_CONTROLS:
        with pytest.raises(InvalidTransition, match="aborted"):
            ROLLOUT_CONTROLS[control](actor=people["release"], rollout=rollout, reason="x")


def test_control__without_reason__invalid_input(
    candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    with pytest.raises(InvalidInput):
        ROLLOUT_CONTROLS["pause"](actor=people["release"], rollout=Rollout.objects.get(), reason=" ")


def test_advance__walks_stages_then_completes(
    candidate: SOPVersion, fast_plan: RolloutPlan, live_version: SOPVersion, people: dict[str, Any]
) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    rollout = Rollout.objects.get()
    rollout = ROLLOUT_CONTROLS["advance"](actor=people["release"], rollout=rollout, reason="looks fine")
    assert (rollout.stage_index, rollout.percentage) == (1, 50)
    assert bundle_entry("billing/refund_policy")["canary"]["percentage"] == 50
    rollout = ROLLOUT_CONTROLS["advance"](actor=people["release"], rollout=rollout, reason="looks fine")
    assert (rollout.state, rollout.percentage) == ("completed", 100)
    candidate.refresh_from_db(), live_version.refresh_from_db()
    assert (candidate.status, live_version.status) == ("live", "superseded")
    entry = bundle_entry("billing/refund_policy")
    assert entry["version"] == 2 and "canary" not in entry


def test_abort__everyone_back_on_stable(candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    rollout = ROLLOUT_CONTROLS["abort"](actor=people["release"], rollout=Rollout.objects.get(), reason="wrong tone")
    candidate.refresh_from_db()
    assert (rollout.state, rollout.percentage, candidate.status) == ("aborted", 0, "approved")
    entry = bundle_entry("billing/refund_policy")
    assert entry["version"] == 1 and "canary" not in entry


def test_pause_resume__paused_time_not_counted_as_soak(
    candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    rollout = rollout_pause(actor=people["release"], rollout=Rollout.objects.get(), reason="look")
    started = rollout.stage_started_at
    rollout.paused_at -= timedelta(minutes=10)  # as if paused ten minutes ago
    rollout.save()
    rollout = rollout_resume(actor=people["release"], rollout=rollout, reason="fine")
    assert timedelta(minutes=9) < rollout.stage_started_at - started < timedelta(minutes=11)
