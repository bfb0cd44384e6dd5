"""Releasing versions: publish (first version, rollout, immediate, single-stage plan), roll back,
retire — each status change with its own audit event, exactly one."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput, InvalidTransition, PermissionDenied
from apps.releases import services
from apps.rollouts.models import Rollout, RolloutPlan
from apps.sops.models import SOP, SOPVersion
from tests.conftest import advance, assert_one_event_per_status_change, draft, sign
from tests.releases.conftest import bundle_entry, publish
from tests.rollouts.conftest import make_plan


def version_events(version: SOPVersion) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="sopversion", target_id=str(version.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


@pytest.fixture(autouse=True)
def _every_status_change_audited_once(db: Any) -> Any:
    yield
    assert_one_event_per_status_change()


def test_publish__first_version__went_live_one_event(sop: SOP, people: dict[str, Any]) -> None:
    # Given an approved first version
    version = advance(draft(sop, people["author"]), people, "approved")
    # When it is published
    version = publish(version, people, reason="first")
    # Then it is live, with one "went live" event carrying the signature, and a bundle serves it
    assert version.status == "live"
    assert version_events(version)[-1] == "version.go_live"
    event = AuditEvent.objects.get(action="version.go_live", target_id=str(version.pk))
    assert (event.before["status"], event.after["status"], event.data["release"]) == (
        "approved",
        "live",
        "first version",
    )
    assert event.data["signature"]["meaning"] == "released"
    assert not AuditEvent.objects.filter(action="version.publish").exists()
    assert bundle_entry("billing/refund_policy")["version"] == 1
    assert not Rollout.objects.exists()


def test_publish__live_exists__canary_started(
    candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    version = publish(candidate, people, reason="try it")
    assert version.status == "canary"
    assert version_events(version)[-1] == "version.canary_start"
    start = AuditEvent.objects.get(action="version.canary_start")
    assert (start.before["status"], start.after["status"], start.data["percentage"]) == ("approved", "canary", 10)
    rollout = Rollout.objects.get()
    assert (rollout.state, rollout.percentage, rollout.alpha, rollout.advance_on) == ("running", 10, 0.05, "no_harm")
    assert rollout.stage_log[0]["percentage"] == 10
    entry = bundle_entry("billing/refund_policy")
    assert (entry["version"], entry["canary"]["version"], entry["canary"]["percentage"]) == (1, 2, 10)
    version.refresh_from_db()
    assert version.published_at is None  # a canary is not live


def test_publish__immediate__went_live_and_old_superseded(
    candidate: SOPVersion, live_version: SOPVersion, people: dict[str, Any]
) -> None:
    publish(candidate, people, reason="hotfix", immediate=True)
    candidate.refresh_from_db(), live_version.refresh_from_db()
    assert (candidate.status, live_version.status) == ("live", "superseded")
    assert version_events(candidate)[-1] == "version.go_live"
    assert version_events(live_version)[-1] == "version.supersede"
    assert AuditEvent.objects.get(action="version.go_live", target_id=str(candidate.pk)).data["release"] == (
        "immediate (rollout skipped)"
    )
    assert not Rollout.objects.exists()


def test_publish__plan_single_100_stage__one_went_live_event(
    candidate: SOPVersion, sop: SOP, people: dict[str, Any]
) -> None:
    make_plan("all at once", [(100, 0, 0)], [], sop.category)
    publish(candidate, people)
    candidate.refresh_from_db()
    assert candidate.status == "live"
    assert version_events(candidate).count("version.go_live") == 1
    assert not Rollout.objects.exists()


def test_rollback__superseded_version_live_again(
    candidate: SOPVersion, live_version: SOPVersion, people: dict[str, Any]
) -> None:
    publish(candidate, people, immediate=True)
    services.release_rollback(
        actor=people["release"],
        signature=sign(people["release"], "rollback"),
        version=live_version,
        reason="v2 is wrong",
    )
    candidate.refresh_from_db(), live_version.refresh_from_db()
    assert (live_version.status, candidate.status) == ("live", "superseded")
    assert version_events(live_version)[-1] == "version.rollback"
    event = AuditEvent.objects.get(action="version.rollback")
    assert (event.reason, event.data["signature"]["meaning"]) == ("v2 is wrong", "rolled_back")
    assert bundle_entry("billing/refund_policy")["version"] == 1


def test_retire__nothing_served(live_version: SOPVersion, people: dict[str, Any]) -> None:
    services.release_retire(
        actor=people["release"], signature=sign(people["release"], "retire"), version=live_version, reason="obsolete"
    )
    live_version.refresh_from_db()
    assert live_version.status == "retired"
    assert version_events(live_version)[-1] == "version.retire"
    live_version.sop.refresh_from_db()
    assert live_version.sop.review_due_on is None


def test_rollback__without_reason__invalid_input(
    candidate: SOPVersion, live_version: SOPVersion, people: dict[str, Any]
) -> None:
    publish(candidate, people, immediate=True)
    with pytest.raises(InvalidInput):
        services.release_rollback(
            actor=people["release"], signature=sign(people["release"], "rollback"), version=live_version, reason=" "
        )


@pytest.mark.parametrize("role", ["author", "reviewer", "auditor", "nobody"])
def test_publish__not_release_manager__refused_nothing_written(
    role: str, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.release_publish(actor=people[role], version=candidate, reason="x")
    assert AuditEvent.objects.count() == before
    candidate.refresh_from_db()
    assert candidate.status == "approved"


def test_publish__not_approved__invalid_transition(sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author"]), people, "in_review")
    with pytest.raises(InvalidTransition, match="only a version that is approved can be published"):
        publish(version, people)


def test_one_rollout_per_sop__publish_retire_rollback_refused_meanwhile(
    candidate: SOPVersion, fast_plan: RolloutPlan, live_version: SOPVersion, people: dict[str, Any]
) -> None:
    publish(candidate, people)
    third = advance(draft(candidate.sop, people["author"], content="## v3"), people, "approved")
    for attempt in (
        lambda: publish(third, people),
        lambda: services.release_retire(
            actor=people["release"], signature=sign(people["release"], "retire"), version=live_version, reason="x"
        ),
    ):
        with pytest.raises(InvalidTransition, match="rollout in progress"):
            attempt()
    assert Rollout.objects.count() == 1


def test_default_plan__used_when_category_names_none(candidate: SOPVersion, people: dict[str, Any]) -> None:
    publish(candidate, people)
    rollout = Rollout.objects.get()
    assert rollout.plan_name == "Standard canary"
    assert [(s["percentage"], s["min_outcomes"]) for s in rollout.stages] == [(5, 50), (10, 100), (50, 200), (100, 0)]
    assert [g["threshold"] for g in rollout.stages[0]["gates"]] == [1.0, 1.0, 0.05]
