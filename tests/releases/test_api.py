"""The release API: release actions and rollout controls through the same entry points as the
admin pages — the role checked before the body or the password, signed controls, clear errors."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.rollouts.models import Rollout
from apps.sops.models import SOPVersion


def api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.mark.parametrize("body", [{}, {"reason": "x", "password": "wrong"}, {"password": 5, "immediate": "maybe"}])
def test_publish__not_a_release_manager__403_before_body_or_password(
    body: dict[str, Any], candidate: SOPVersion, people: dict[str, Any]
) -> None:
    before = AuditEvent.objects.count()
    response = api(people["auditor"]).post(f"/api/v1/versions/{candidate.pk}/publish/", body, format="json")
    assert (response.status_code, response.json()["error"]) == (403, "permission_denied")
    assert AuditEvent.objects.count() == before  # no signature.refused event for someone who may never sign


def test_approve__auditor__403_before_password(sop: Any, people: dict[str, Any]) -> None:
    from tests.conftest import advance, draft

    version = advance(draft(sop, people["author"]), people, "in_review")
    before = AuditEvent.objects.count()
    response = api(people["auditor"]).post(f"/api/v1/versions/{version.pk}/approve/", {"password": "x"}, format="json")
    assert response.status_code == 403
    assert AuditEvent.objects.count() == before


def test_rollout_api__signed_controls_and_metrics(rollout: Rollout, people: dict[str, Any]) -> None:
    listed = api(people["auditor"]).get("/api/v1/rollouts/?active=true").json()
    assert [r["sop"] for r in listed["results"]] == ["billing/refund_policy"]
    assert listed["results"][0]["allowed_controls"] == []
    detail = api(people["release"]).get(f"/api/v1/rollouts/{rollout.pk}/").json()
    assert detail["allowed_controls"] == ["advance", "pause", "abort", "complete"]
    assert (detail["alpha"], detail["advance_on"], detail["stage_log"][0]["percentage"]) == (0.05, "no_harm", 10)
    release = api(people["release"])
    assert api(people["reviewer"]).post(f"/api/v1/rollouts/{rollout.pk}/abort/", {}, format="json").status_code == 403
    assert release.post(f"/api/v1/rollouts/{rollout.pk}/resume/", {"reason": "x"}, format="json").status_code == 409
    unsigned = release.post(f"/api/v1/rollouts/{rollout.pk}/advance/", {"reason": "now"}, format="json")
    assert unsigned.status_code == 400 and "password" in unsigned.json()["fields"]
    wrong = release.post(f"/api/v1/rollouts/{rollout.pk}/advance/", {"reason": "now", "password": "no"}, format="json")
    assert (wrong.status_code, wrong.json()["error"]) == (403, "signature_refused")
    advanced = release.post(
        f"/api/v1/rollouts/{rollout.pk}/advance/", {"reason": "looks fine", "password": "pw"}, format="json"
    )
    assert (advanced.status_code, advanced.json()["percentage"]) == (200, 50)
    paused = release.post(f"/api/v1/rollouts/{rollout.pk}/pause/", {"reason": "check"}, format="json")
    assert paused.json()["state"] == "paused"
    metrics = api(people["auditor"]).get(f"/api/v1/rollouts/{rollout.pk}/metrics/").json()
    assert set(metrics["series"]) == {"complaint_rate", "escalation_rate", "error_rate"}
    assert metrics["gates"][0]["status"] == "no_data"
    assert set(metrics["served"]) == {"candidate", "stable", "no_routing_key_calls"}
    assert metrics["split"]["expected_share"] == 0.5


def test_rollout_plans_api__alpha_rule_and_categories(fast_plan: Any, people: dict[str, Any]) -> None:
    plans = {p["name"]: p for p in api(people["auditor"]).get("/api/v1/rollout-plans/").json()["results"]}
    fast = plans["fast"]
    assert (fast["alpha"], fast["advance_on"], fast["categories"]) == (0.05, "no_harm", ["billing"])
    assert fast["stages"][0] == {
        "percentage": 10,
        "min_soak_seconds": 60,
        "min_outcomes": 10,
        "gates": [{"metric": "complaint_rate", "comparison": "absolute", "threshold": 0.2}],
    }
