"""Agent tokens, the credentials snapshot, proposals and the tool-call log ingest."""

from __future__ import annotations

import uuid
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.agents.models import AgentToken, ToolCall
from apps.agents.services import agent_token_issue, agent_token_revoke
from apps.agents.tokens import hash_token
from apps.audit.models import AuditEvent
from apps.core.errors import Conflict, InvalidInput
from apps.publishing.selectors import current_bundle
from apps.sops.models import SOPVersion


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_issue_command__prints_token_last_and_stores_hash(db: Any) -> None:
    out, err = StringIO(), StringIO()
    call_command("issue_agent_token", "support-bot", "--scopes", "sop:read,sop:propose", stdout=out, stderr=err)
    raw = out.getvalue().strip().splitlines()[-1]
    token = AgentToken.objects.get(name="support-bot")
    assert token.token_sha256 == hash_token(raw)
    assert raw not in str(AgentToken.objects.values_list())
    assert token.scopes == ["sop:propose", "sop:read"]
    assert AuditEvent.objects.filter(action="token.issue").count() == 1


def test_issue__unknown_scope__invalid(db: Any) -> None:
    with pytest.raises(InvalidInput):
        agent_token_issue(actor=None, name="bot", scopes=["sop:write"])


def test_issue__name_taken__conflict_until_revoked(db: Any) -> None:
    token, _ = agent_token_issue(actor=None, name="bot", scopes=["sop:read"])
    with pytest.raises(Conflict):
        agent_token_issue(actor=None, name="bot", scopes=["sop:read"])
    agent_token_revoke(actor=None, token=token)
    replacement, _ = agent_token_issue(actor=None, name="bot", scopes=["sop:read"])
    assert replacement.user_id == token.user_id


def test_credentials__bridge_scope_only__and_etag(db: Any) -> None:
    _, bridge = agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])
    reader, agent = agent_token_issue(actor=None, name="reader", scopes=["sop:read"])
    assert bearer(agent).get("/api/v1/bridge/credentials/").status_code == 403
    first = bearer(bridge).get("/api/v1/bridge/credentials/")
    assert first.status_code == 200
    hashes = {t["sha256"] for t in first.json()["tokens"]}
    assert hash_token(agent) in hashes and hash_token(bridge) in hashes
    assert agent not in first.content.decode()
    etag = first["ETag"]
    assert bearer(bridge).get("/api/v1/bridge/credentials/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    agent_token_revoke(actor=None, token=reader)
    changed = bearer(bridge).get("/api/v1/bridge/credentials/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert hash_token(agent) not in {t["sha256"] for t in changed.json()["tokens"]}


def test_bundle_endpoint__etag_and_404_before_publish(db: Any, live_version: SOPVersion) -> None:
    _, bridge = agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])
    response = bearer(bridge).get("/api/v1/bridge/bundle/")
    sha = current_bundle().sha256  # type: ignore[union-attr]
    assert response.status_code == 200 and response["X-Bundle-SHA256"] == sha
    assert bearer(bridge).get("/api/v1/bridge/bundle/", HTTP_IF_NONE_MATCH=f'"{sha}"').status_code == 304
    assert bearer("sgv_nonsense").get("/api/v1/bridge/bundle/").status_code == 401


def test_proposal__creates_draft_never_live(live_version: SOPVersion, people: dict[str, Any]) -> None:
    _, raw = agent_token_issue(actor=None, name="bot", scopes=["sop:read", "sop:propose"])
    before = current_bundle().sha256  # type: ignore[union-attr]
    response = bearer(raw).post(
        "/api/v1/agent/proposals/",
        {
            "category": "billing",
            "sop_key": "refund_policy",
            "content": "## Better steps",
            "rationale": "Customers ask X",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    proposal = SOPVersion.objects.get(pk=response.json()["id"])
    assert (proposal.status, proposal.origin, proposal.change_note) == ("draft", "agent", "Customers ask X")
    assert proposal.summary == live_version.summary
    assert current_bundle().sha256 == before  # type: ignore[union-attr]
    event = AuditEvent.objects.get(action="version.propose")
    assert event.actor_label == "agent:bot"
    # the SOP's owner (an author) may submit the agent's draft; the agent itself has no role
    from apps.sops import services

    services.sop_version_submit(actor=people["author"], version=proposal)


def test_proposal__again_by_the_same_agent__replaces_its_open_one(
    live_version: SOPVersion, people: dict[str, Any]
) -> None:
    """Repeated proposals (an agent retrying, a regression run) leave one open draft per agent
    and SOP; the earlier ones are kept as withdrawn. Another agent's proposal is not touched."""
    from apps.agents.services import sop_change_propose

    bot, _ = agent_token_issue(actor=None, name="bot", scopes=["sop:propose"])
    other, _ = agent_token_issue(actor=None, name="other-bot", scopes=["sop:propose"])
    args = {"category": "billing", "sop_key": "refund_policy", "rationale": "Regression check"}
    first = sop_change_propose(token=bot, content="## Try 1", **args)
    theirs = sop_change_propose(token=other, content="## Theirs", **args)
    second = sop_change_propose(token=bot, content="## Try 2", **args)
    third = sop_change_propose(token=bot, content="## Try 3", **args)
    statuses = dict(SOPVersion.objects.filter(origin="agent").values_list("pk", "status"))
    assert statuses == {first.pk: "withdrawn", theirs.pk: "draft", second.pk: "withdrawn", third.pk: "draft"}
    event = AuditEvent.objects.filter(action="version.withdraw", target_id=str(second.pk)).get()
    assert event.reason == f"Replaced by the same agent's newer proposal, v{third.number}."


def test_proposal__without_scope__403_and_unknown_sop__404(live_version: SOPVersion) -> None:
    _, reader = agent_token_issue(actor=None, name="reader", scopes=["sop:read"])
    body = {"category": "billing", "sop_key": "refund_policy", "content": "x", "rationale": "y"}
    assert bearer(reader).post("/api/v1/agent/proposals/", body, format="json").status_code == 403
    _, proposer = agent_token_issue(actor=None, name="proposer", scopes=["sop:propose"])
    missing = bearer(proposer).post("/api/v1/agent/proposals/", {**body, "sop_key": "nope"}, format="json")
    assert missing.status_code == 404
    assert missing.json()["available_sops"] == ["refund_policy"]
    empty = bearer(proposer).post("/api/v1/agent/proposals/", {**body, "content": " "}, format="json")
    assert empty.status_code == 400
    assert SOPVersion.objects.count() == 1


def _call(**overrides: Any) -> dict[str, Any]:
    record = {
        "call_id": str(uuid.uuid4()),
        "called_at": "2026-11-21T10:00:00+00:00",
        "tool": "get_specific_sop",
        "agent_name": "bot",
        "arguments_sha256": "a" * 64,
        "latency_ms": 1.5,
        "sop_slug": "billing/refund_policy",
        "version": 1,
        "content_sha256": "b" * 64,
        "bundle_sha256": "c" * 64,
    }
    record.update(overrides)
    return record


def test_telemetry__calls_stored_once_and_last_used_updated(db: Any) -> None:
    token, _ = agent_token_issue(actor=None, name="bot", scopes=["sop:read"])
    _, bridge = agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])
    calls = [
        _call(token_id=token.pk),
        _call(token_id=token.pk, called_at="2026-11-21T11:00:00+00:00", bucket=7, variant="canary"),
    ]
    first = bearer(bridge).post("/api/v1/bridge/telemetry/", {"bridge_id": "b1", "calls": calls}, format="json")
    assert first.json() == {"stored": 2, "calls": 2, "outcomes": 0, "rejected": []}
    again = bearer(bridge).post("/api/v1/bridge/telemetry/", {"bridge_id": "b1", "calls": calls}, format="json")
    assert again.json()["stored"] == 0
    assert ToolCall.objects.count() == 2
    assert ToolCall.objects.get(bucket=7).variant == "canary"
    token.refresh_from_db()
    assert token.last_used_at.isoformat() == "2026-11-21T11:00:00+00:00"


def test_telemetry__malformed_records_rejected_others_stored(db: Any) -> None:
    _, bridge = agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])
    records = [_call(), _call(latency_ms="slow"), _call(bucket=101), "not an object"]
    outcomes = [{"category": "billing", "sop_key": "nope", "version": 1, "outcome": "resolved", "routing_key": "c"}]
    response = bearer(bridge).post(
        "/api/v1/bridge/telemetry/", {"bridge_id": "b1", "calls": records, "outcomes": outcomes}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["calls"], body["outcomes"]) == (1, 0)
    assert [(r["kind"], r["index"]) for r in body["rejected"]] == [
        ("call", 1),
        ("call", 2),
        ("call", 3),
        ("outcome", 0),
    ]
    assert "latency" in body["rejected"][0]["error"] or "float" in body["rejected"][0]["error"]
    assert "no version 1 of billing/nope" in body["rejected"][3]["error"]
    assert ToolCall.objects.count() == 1


def test_telemetry__nul_in_a_text_field__that_record_rejected_the_batch_stored(live_version: Any) -> None:
    _, bridge = agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])
    calls = [_call(routing_key="conv\x001"), _call(), _call(question="refund\x00?")]
    outcomes = [
        {
            "category": "billing",
            "sop_key": "refund_policy",
            "version": 1,
            "outcome": "resolved",
            "routing_key": "a\x00",
        },
        {"category": "billing", "sop_key": "refund_policy", "version": 1, "outcome": "resolved", "routing_key": "ok"},
    ]
    response = bearer(bridge).post(
        "/api/v1/bridge/telemetry/", {"bridge_id": "b1", "calls": calls, "outcomes": outcomes}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["calls"], body["outcomes"]) == (1, 1)
    assert [(r["kind"], r["index"]) for r in body["rejected"]] == [("call", 0), ("call", 2), ("outcome", 0)]
    assert "routing_key contains a NUL character" in body["rejected"][0]["error"]
    assert "question contains a NUL character" in body["rejected"][1]["error"]
    assert "routing_key contains a NUL character" in body["rejected"][2]["error"]
    assert ToolCall.objects.count() == 1


def test_telemetry__not_lists__400(db: Any) -> None:
    _, bridge = agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])
    response = bearer(bridge).post("/api/v1/bridge/telemetry/", {"bridge_id": "b1", "calls": "x"}, format="json")
    assert response.status_code == 400


def test_tool_call_list__says_ok_or_error_and_shows_the_question(people: dict[str, Any]) -> None:
    from django.test import Client

    _, bridge = agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])
    calls = [
        _call(tool="get_sop_for_question", question="Where is my refund?"),
        _call(is_error=True, error="Category not found"),
    ]
    bearer(bridge).post("/api/v1/bridge/telemetry/", {"bridge_id": "b1", "calls": calls}, format="json")
    client = Client()
    client.force_login(people["auditor"])
    html = client.get("/admin/agents/toolcall/").content.decode()
    assert "Where is my refund?" in html
    assert '<span class="sopgov-error-text" title="Category not found">error</span>' in html
    assert html.count('<td class="field-result">ok</td>') == 1
    assert "icon-yes.svg" not in html  # no green tick standing for an error


def test_proposal__rate_limited_per_token(live_version: SOPVersion, settings: Any) -> None:
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "proposal": "3/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    SimpleRateThrottle.THROTTLE_RATES = rates  # DRF reads it once, at import
    _, noisy = agent_token_issue(actor=None, name="noisy", scopes=["sop:propose"])
    _, quiet = agent_token_issue(actor=None, name="quiet", scopes=["sop:propose"])
    body = {"category": "billing", "sop_key": "refund_policy", "content": "## Steps", "rationale": "r"}
    try:
        codes = [bearer(noisy).post("/api/v1/agent/proposals/", body, format="json").status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        assert bearer(quiet).post("/api/v1/agent/proposals/", body, format="json").status_code == 201
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert SOPVersion.objects.filter(origin="agent").count() == 4
