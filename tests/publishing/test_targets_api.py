"""Targets, deployments, the ledger and bridges over the REST API; bridge heartbeats and drift."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.agents.services import agent_token_issue
from apps.publishing.models import BridgeHeartbeat, Deployment, PublicationTarget
from apps.publishing.selectors import bridge_statuses, current_bundle_sha256
from apps.sops.models import SOP
from mcp_bridge.manifest import expected_tools_sha256
from tests.conftest import advance, draft
from tests.publishing.conftest import runtimes
from tests.sops.test_api import client_for

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def api(people: dict[str, Any]) -> dict[str, APIClient]:
    return {name: client_for(user) for name, user in people.items()}


def test_targets__auditor_reads_release_manager_deploys__202_then_pollable(
    api: dict[str, APIClient], target: PublicationTarget, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    listed = api["auditor"].get("/api/v1/targets/").json()["results"]
    assert [t["name"] for t in listed] == ["local", "agentcore-test"]
    assert api["auditor"].post(f"/api/v1/targets/{target.name}/deploy/", {}, format="json").status_code == 403
    assert api["nobody"].get("/api/v1/targets/").status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        response = api["release"].post(f"/api/v1/targets/{target.name}/deploy/", {"reason": "first"}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert (body["target"], body["action"], body["status"], body["requested_by"]) == (
        "agentcore-test",
        "deploy",
        "pending",
        "release",
    )
    polled = api["auditor"].get(f"/api/v1/deployments/{body['id']}/").json()
    assert (polled["status"], polled["progress"], polled["step"]) == ("succeeded", 100, "done")
    [runtime] = runtimes().values()
    detail = api["auditor"].get(f"/api/v1/targets/{target.name}/").json()
    assert detail["runtime_id"] == runtime.agent_runtime_id and detail["summary"]["deployment_id"] == body["id"]


def test_targets__deploy_while_one_runs__409(
    api: dict[str, APIClient], target: PublicationTarget, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        assert api["release"].post(f"/api/v1/targets/{target.name}/deploy/", {}, format="json").status_code == 202
    response = api["release"].post(f"/api/v1/targets/{target.name}/deploy/", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "detail": "A deployment of agentcore-test is already in progress; wait for it to finish.",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "1"}, "endpoint"),
        ({"endpoint": "production"}, "version"),
        ({"endpoint": "bad name!", "version": "1"}, "endpoint"),
        ({"endpoint": "production", "version": "v1"}, "version"),
    ],
)
def test_move_endpoint__malformed_body__400_names_the_field(
    api: dict[str, APIClient], target: PublicationTarget, body: dict[str, str], field: str
) -> None:
    response = api["release"].post(f"/api/v1/targets/{target.name}/move-endpoint/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]
    assert not Deployment.objects.exists()


def test_republish__local_target__400_nothing_published__409(
    api: dict[str, APIClient], target: PublicationTarget
) -> None:
    response = api["release"].post("/api/v1/targets/local/republish/", {}, format="json")
    assert response.status_code == 400 and "pull the current bundle" in response.json()["detail"]
    response = api["release"].post(f"/api/v1/targets/{target.name}/republish/", {}, format="json")
    assert response.status_code == 409 and "Nothing has been published yet" in response.json()["detail"]


def test_publications__filtered_by_target_and_status(
    api: dict[str, APIClient],
    target: PublicationTarget,
    sop: SOP,
    people: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        advance(draft(sop, people["author"]), people, "live")

    rows = api["auditor"].get("/api/v1/publications/", {"target": target.name}).json()["results"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["target"], row["status"], row["ssm_parameter_version"]) == ("agentcore-test", "succeeded", 1)
    assert row["s3_key"].endswith(f"{row['bundle_sha256']}.json") and row["s3_version_id"]
    assert api["auditor"].get("/api/v1/publications/", {"status": "failed"}).json()["count"] == 0
    assert api["auditor"].get("/api/v1/publications/", {"target": "local"}).json()["count"] == 1
    bad = api["auditor"].get("/api/v1/publications/", {"status": "exploded"})
    assert bad.status_code == 400 and "status" in bad.json()["fields"]


# --- heartbeats and drift ---------------------------------------------------------------------


@pytest.fixture
def bridge_client(db: Any) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {agent_token_issue(actor=None, name='b', scopes=['bridge:sync'])[1]}"
    )
    return client


def _beat(client: APIClient, bridge_id: str, bundle: str, tools: str) -> Any:
    return client.post(
        "/api/v1/bridge/heartbeat/",
        {
            "bridge_id": bridge_id,
            "bundle_sha256": bundle,
            "tools_sha256": tools,
            "bridge_version": "0.3.0",
        },
        format="json",
    )


def test_heartbeat__bridges_listed_with_drift_flags(
    api: dict[str, APIClient], bridge_client: APIClient, live_version: Any, sop: SOP, people: dict[str, Any]
) -> None:
    current, tools = current_bundle_sha256(), expected_tools_sha256()
    assert current is not None
    ack = _beat(bridge_client, "web-1:8001", current, tools)
    assert ack.status_code == 200 and ack.json() == {"current_bundle": current, "in_sync": True}
    _beat(bridge_client, "web-2:8001", current, "f" * 64)  # an older or modified bridge

    flags = {
        b["bridge_id"]: (b["online"], b["bundle_drift"], b["tools_drift"])
        for b in api["auditor"].get("/api/v1/bridges/").json()
    }
    assert flags == {"web-1:8001": (True, False, False), "web-2:8001": (True, False, True)}

    advance(draft(sop, people["author"], content="## Steps\n1. Changed."), people, "live")  # a new bundle
    flags = {b["bridge_id"]: b["bundle_drift"] for b in api["auditor"].get("/api/v1/bridges/").json()}
    assert flags == {"web-1:8001": True, "web-2:8001": True}

    BridgeHeartbeat.objects.filter(bridge_id="web-2:8001").update(last_seen_at=timezone.now() - timedelta(seconds=61))
    assert {s.heartbeat.bridge_id: s.online for s in bridge_statuses()} == {"web-1:8001": True, "web-2:8001": False}


def test_heartbeat__wrong_scope_or_malformed__refused_nothing_stored(bridge_client: APIClient, db: Any) -> None:
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {agent_token_issue(actor=None, name='r', scopes=['sop:read'])[1]}")
    assert _beat(reader, "x", "a" * 64, "b" * 64).status_code == 403
    response = _beat(bridge_client, "x", "not-a-hash", "b" * 64)
    assert response.status_code == 400 and "bundle_sha256" in response.json()["fields"]
    assert not BridgeHeartbeat.objects.exists()


def test_bridges__nobody_and_agents__cannot_list(api: dict[str, APIClient], bridge_client: APIClient) -> None:
    assert api["nobody"].get("/api/v1/bridges/").status_code == 403
    assert bridge_client.get("/api/v1/bridges/").status_code in (401, 403)
