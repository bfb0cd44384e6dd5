"""Outcome reports through the REST API (the release layer stores them and re-evaluates): scope,
version attribution by bucketing, bad input."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from apps.agents.services import agent_token_issue
from apps.rollouts.models import Outcome, Rollout, RolloutPlan
from apps.sops.models import SOPVersion
from mcp_bridge.bucketing import gets_canary
from tests.releases.conftest import publish


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_report__without_version__attributed_to_served_version(
    candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]
) -> None:
    publish(candidate, people)
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
