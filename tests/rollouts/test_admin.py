"""Plan editing in the admin: stages must rise to 100 %, categories are assigned, every edit is
audited with the plan before and after."""

from __future__ import annotations

from typing import Any

from django.test import Client

from apps.audit.models import AuditEvent
from apps.rollouts.models import CategoryPlan, RolloutPlan
from apps.sops.models import Category


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _plan_form(
    plan: RolloutPlan, percentages: list[int], categories: list[Category], alpha: float = 0.05
) -> dict[str, Any]:
    stages = list(plan.stages.all())
    data: dict[str, Any] = {
        "name": plan.name,
        "description": plan.description,
        "alpha": alpha,
        "advance_on": plan.advance_on,
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
            {
                f"stages-{i}-position": i,
                f"stages-{i}-percentage": percentage,
                f"stages-{i}-min_soak_seconds": 60,
                f"stages-{i}-min_outcomes": 10,
            }
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
        _plan_form(fast_plan, [20, 60, 100], [sop.category, other], alpha=0.02),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [s.percentage for s in fast_plan.stages.all()] == [20, 60, 100]
    assert CategoryPlan.objects.get(category=other).plan == fast_plan
    event = AuditEvent.objects.get(action="plan.change")
    assert event.actor == people["release"]
    assert [s["percentage"] for s in event.before["stages"]] == [10, 50, 100]
    assert [s["percentage"] for s in event.after["stages"]] == [20, 60, 100]
    assert (event.before["alpha"], event.after["alpha"]) == (0.05, 0.02)
    assert (event.before["categories"], event.after["categories"]) == (["billing"], ["billing", "shipping"])
    assert set(event.data["changed"]) == {"alpha", "stages", "categories"}


def test_plan_edit__nothing_changed__nothing_audited(fast_plan: RolloutPlan, sop: Any, people: dict[str, Any]) -> None:
    stages = fast_plan.stages.all()
    data = _plan_form(fast_plan, [s.percentage for s in stages], [sop.category])
    for i, stage in enumerate(stages):
        data[f"stages-{i}-min_outcomes"] = stage.min_outcomes
        data[f"stages-{i}-min_soak_seconds"] = stage.min_soak_seconds
    response = login(people["release"]).post(f"/admin/rollouts/rolloutplan/{fast_plan.pk}/change/", data)
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="plan.change").exists()


def test_plan_edit__reviewer_cannot(fast_plan: RolloutPlan, people: dict[str, Any]) -> None:
    assert login(people["reviewer"]).post(f"/admin/rollouts/rolloutplan/{fast_plan.pk}/change/", {}).status_code == 403
