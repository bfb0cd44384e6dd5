"""Outcome reports through the REST API: scope, version attribution by bucketing, bad input."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from apps.agents.services import agent_token_issue
from apps.rollouts.models import Outcome, Rollout, RolloutPlan
from apps.sops import services
from apps.sops.models import SOPVersion
from mcp_bridge.bucketing import gets_canary
from tests.conftest import sign


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_report__without_version__attributed_to_served_version(
    candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    _, raw = agent_token_issue(actor=None, name="bot", scopes=["sop:report"])
    salt = candidate.sop.salt
    keys = [f"conv-{i}" for i in range(60)]
    for key in keys:
        response = bearer(raw).post(
            "/api/v1/outcomes/",
            {"routing_key": key, "category": "billing", "sop_key": "refund_policy", "outcome": "resolved"},
            format="json",
        )
        assert response.status_code == 201, response.json()
        expected = 2 if gets_canary(salt, key, 10)[0] else 1
        assert response.json()["version"] == expected
    assert Outcome.objects.filter(version=candidate).count() == sum(gets_canary(salt, k, 10)[0] for k in keys)
    assert Outcome.objects.filter(reporter="bot", source="api").count() == 60
    assert Rollout.objects.get().state == "running"


def test_report__explicit_version_and_errors(candidate: SOPVersion, live_version: SOPVersion) -> None:
    _, raw = agent_token_issue(actor=None, name="bot", scopes=["sop:report"])
    body = {
        "routing_key": "c1",
        "category": "billing",
        "sop_key": "refund_policy",
        "outcome": "escalated",
        "version": 1,
    }
    assert bearer(raw).post("/api/v1/outcomes/", body, format="json").json()["version"] == 1
    assert bearer(raw).post("/api/v1/outcomes/", {**body, "version": 9}, format="json").status_code == 404
    assert bearer(raw).post("/api/v1/outcomes/", {**body, "sop_key": "x"}, format="json").status_code == 404
    bad = bearer(raw).post("/api/v1/outcomes/", {**body, "outcome": "happy"}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()["fields"]
    _, reader = agent_token_issue(actor=None, name="reader", scopes=["sop:read"])
    assert bearer(reader).post("/api/v1/outcomes/", body, format="json").status_code == 403
    assert Outcome.objects.count() == 1


def test_rollout_api__controls_and_metrics(
    candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    from rest_framework.authtoken.models import Token

    services.sop_version_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate
    )
    rollout = Rollout.objects.get()

    def as_(user: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=people[user])[0].key}")
        return client

    listed = as_("auditor").get("/api/v1/rollouts/?active=true").json()
    assert [r["sop"] for r in listed["results"]] == ["billing/refund_policy"]
    assert listed["results"][0]["allowed_controls"] == []
    detail = as_("release").get(f"/api/v1/rollouts/{rollout.pk}/").json()
    assert detail["allowed_controls"] == ["advance", "pause", "abort", "complete"]
    assert (
        as_("reviewer").post(f"/api/v1/rollouts/{rollout.pk}/pause/", {"reason": "x"}, format="json").status_code == 403
    )
    assert (
        as_("release").post(f"/api/v1/rollouts/{rollout.pk}/resume/", {"reason": "x"}, format="json").status_code == 409
    )
    missing = as_("release").post(f"/api/v1/rollouts/{rollout.pk}/pause/", {}, format="json")
    assert missing.status_code == 400
    paused = as_("release").post(f"/api/v1/rollouts/{rollout.pk}/pause/", {"reason": "check"}, format="json")
    assert paused.json()["state"] == "paused"
    metrics = as_("auditor").get(f"/api/v1/rollouts/{rollout.pk}/metrics/").json()
    assert set(metrics["series"]) == {"complaint_rate", "escalation_rate", "error_rate"}
    assert metrics["gates"][0]["status"] == "inconclusive"
