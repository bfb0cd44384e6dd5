"""Rollout pages and plan editing in the admin."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.agents.models import ToolCall
from apps.audit.models import AuditEvent
from apps.rollouts.models import Rollout, RolloutPlan
from apps.sops import services
from apps.sops.models import Category, SOPVersion
from tests.conftest import sign


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rollout(candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]) -> Rollout:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate, reason="start"
    )
    return Rollout.objects.get()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("release", True), ("admin", True), ("reviewer", False), ("auditor", False), ("author", False)],
)
def test_rollout_page__controls_only_for_release_managers(
    rollout: Rollout, people: dict[str, Any], role: str, allowed: bool
) -> None:
    client = login(people[role])
    page = client.get(f"/admin/rollouts/rollout/{rollout.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert ('data-control="pause"' in html) == allowed
    response = client.post(f"/admin/rollouts/rollout/{rollout.pk}/do/pause/", {"reason": "look"}, follow=True)
    rollout.refresh_from_db()
    assert rollout.state == ("paused" if allowed else "running")
    if not allowed:
        assert any("Only release managers" in str(m) for m in response.context["messages"])


def test_rollout_page__counts_calls_by_what_they_got(rollout: Rollout, people: dict[str, Any]) -> None:
    def call(variant: str, routing_key: str) -> ToolCall:
        return ToolCall(
            call_id=uuid.uuid4(),
            called_at=timezone.now(),
            bridge_id="b",
            tool="get_specific_sop",
            agent_name="a",
            routing_key=routing_key,
            arguments_sha256="x",
            sop_slug="billing/refund_policy",
            version_number=2 if variant == "canary" else 1,
            latency_ms=1,
            variant=variant,
        )

    ToolCall.objects.bulk_create([call("canary", "c1"), call("stable", "c2"), call("stable", "c3"), call("stable", "")])
    html = login(people["auditor"]).get(f"/admin/rollouts/rollout/{rollout.pk}/change/").content.decode()
    assert "<strong>1</strong> calls got the candidate" in html
    assert "<strong>2</strong> got stable by their routing key" in html
    assert "<strong>1</strong> had no routing key" in html


def test_rollout_list__active_first(rollout: Rollout, people: dict[str, Any]) -> None:
    html = login(people["auditor"]).get("/admin/rollouts/rollout/?state__exact=running").content.decode()
    assert "billing/refund_policy" in html and "v1 → v2" in html


def _plan_form(plan: RolloutPlan, percentages: list[int], categories: list[Category]) -> dict[str, Any]:
    stages = list(plan.stages.all())
    data: dict[str, Any] = {
        "name": plan.name,
        "description": plan.description,
        "categories": [c.pk for c in categories],
        "stages-TOTAL_FORMS": str(len(percentages)),
        "stages-INITIAL_FORMS": str(len(stages)),
        "stages-MIN_NUM_FORMS": "0",
        "stages-MAX_NUM_FORMS": "1000",
    }
    for i, percentage in enumerate(percentages):
        if i < len(stages):
            data[f"stages-{i}-id"] = stages[i].pk
        data[f"stages-{i}-plan"] = plan.pk
        data.update(
            {f"stages-{i}-position": i, f"stages-{i}-percentage": percentage, f"stages-{i}-min_soak_seconds": 60}
        )
    return data


def test_plan_edit__stages_must_rise_to_100(fast_plan: RolloutPlan, people: dict[str, Any]) -> None:
    client = login(people["release"])
    response = client.post(
        f"/admin/rollouts/rolloutplan/{fast_plan.pk}/change/", _plan_form(fast_plan, [50, 10, 100], [])
    )
    assert response.status_code == 200
    assert "must rise from stage to stage" in response.content.decode()
    assert [s.percentage for s in fast_plan.stages.all()] == [10, 50, 100]
    assert not AuditEvent.objects.filter(action="plan.change").exists()


def test_plan_edit__saved_assigned_and_audited(fast_plan: RolloutPlan, sop: Any, people: dict[str, Any]) -> None:
    other = Category.objects.create(slug="shipping", name="Shipping")
    client = login(people["release"])
    response = client.post(
        f"/admin/rollouts/rolloutplan/{fast_plan.pk}/change/",
        _plan_form(fast_plan, [20, 60, 100], [sop.category, other]),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [s.percentage for s in fast_plan.stages.all()] == [20, 60, 100]
    other.refresh_from_db()
    assert other.rollout_plan == fast_plan
    event = AuditEvent.objects.get(action="plan.change")
    assert event.actor == people["release"]
    assert [s["percentage"] for s in event.before["stages"]] == [10, 50, 100]
    assert [s["percentage"] for s in event.after["stages"]] == [20, 60, 100]
    assert event.after["categories"] == ["billing", "shipping"]


def test_plan_edit__reviewer_cannot(fast_plan: RolloutPlan, people: dict[str, Any]) -> None:
    assert login(people["reviewer"]).post(f"/admin/rollouts/rolloutplan/{fast_plan.pk}/change/", {}).status_code == 403
