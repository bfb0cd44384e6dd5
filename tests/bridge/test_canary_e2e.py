"""A canary over real MCP: served to its share of conversations, sticky, rolled back by
complaints that agents report, and the bridge back on stable within a second."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.agents.models import ToolCall
from apps.agents.services import agent_token_issue
from apps.audit.models import AuditEvent
from apps.releases import services as releases
from apps.rollouts.models import Outcome, Rollout
from apps.sops.models import SOP, Category
from mcp_bridge.bucketing import gets_canary
from tests.bridge.harness import post_tool, reply_of, running_bridge, wait_until
from tests.conftest import advance, draft, sign
from tests.rollouts.conftest import COMPLAINTS_AT_MOST_20_PERCENT, make_plan

pytestmark = [pytest.mark.bridge, pytest.mark.django_db(transaction=True)]
ARGS = {"category": "product", "sop_key": "warranty_information"}


def served(
    client: httpx.Client, url: str, token: str, routing_key: str | None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    arguments = {**ARGS, **({"routing_key": routing_key} if routing_key is not None else {})}
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "get_specific_sop", "arguments": arguments},
    }
    response = client.post(url, json=body, headers={"Authorization": f"Bearer {token}", **(headers or {})})
    return response.json()["result"]


@pytest.fixture
def canary(library: dict[str, str], people: dict[str, Any]) -> dict[str, Any]:
    """Version 2 of product/warranty_information in a rollout at 10 %."""
    product = Category.objects.get(slug="product")
    make_plan("fast", [(10, 600, 10), (50, 600, 10), (100, 0, 0)], [COMPLAINTS_AT_MOST_20_PERCENT], product)
    sop = SOP.objects.get(category=product, key="warranty_information")
    candidate = advance(
        draft(sop, people["author"], content="## Warranty, new wording\n1. Check the date."), people, "approved"
    )
    releases.release_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate, reason="canary e2e"
    )
    library["reporter"] = agent_token_issue(actor=None, name="reporter", scopes=["sop:read", "sop:report"])[1]
    return {"sop": sop, "candidate": candidate, "tokens": library}


def test_canary__share_sticky_and_logged(live_server: Any, canary: dict[str, Any], cache_dir: Path) -> None:
    tokens, sop = canary["tokens"], canary["sop"]
    keys = [f"conversation-{i}" for i in range(1000)]
    with running_bridge(live_server.url, tokens["bridge"], cache_dir) as bridge, httpx.Client(timeout=10) as client:
        versions = {k: served(client, bridge.url, tokens["reader"], k)["structuredContent"]["version"] for k in keys}
        # every conversation gets exactly what the bucketing rule says, ~10 % the candidate
        expected = {k: 2 if gets_canary(sop.salt, k, 10)[0] else 1 for k in keys}
        assert versions == expected
        share = sum(v == 2 for v in versions.values()) / len(keys)
        assert 0.07 <= share <= 0.13, share
        # sticky: asking again gives the same version
        assert all(
            served(client, bridge.url, tokens["reader"], k)["structuredContent"]["version"] == versions[k]
            for k in keys[:50]
        )
        # no routing key: stable; the MCP session header counts as one
        assert served(client, bridge.url, tokens["reader"], None)["structuredContent"]["version"] == 1
        canary_key = next(k for k in keys if expected[k] == 2)
        via_header = served(client, bridge.url, tokens["reader"], None, {"Mcp-Session-Id": canary_key})
        assert via_header["structuredContent"]["version"] == 2
        assert via_header["_meta"]["sopgov/served"]["variant"] == "canary"
        wait_until(lambda: ToolCall.objects.count() >= 1052, timeout=10, message="the calls to be logged")
    logged = ToolCall.objects.filter(routing_key=canary_key, variant="canary", version_number=2).first()
    assert logged is not None
    assert logged.bucket == gets_canary(sop.salt, canary_key, 10)[1]
    assert ToolCall.objects.filter(routing_key="", bucket__isnull=True, version_number=1).exists()


def test_canary__complaints_reported_over_mcp__rolled_back_within_a_second(
    live_server: Any, canary: dict[str, Any], cache_dir: Path
) -> None:
    tokens, sop = canary["tokens"], canary["sop"]
    canary_keys = [k for k in (f"c-{i}" for i in range(1000)) if gets_canary(sop.salt, k, 10)[0]][:30]
    with running_bridge(live_server.url, tokens["bridge"], cache_dir) as bridge, httpx.Client(timeout=10) as client:
        assert served(client, bridge.url, tokens["reader"], canary_keys[0])["structuredContent"]["version"] == 2
        # agents report complaints for the canary's conversations (version left to the bridge)
        for key in canary_keys:
            status, body = post_tool(
                bridge.url,
                tokens["reporter"],
                "report_sop_outcome",
                {"routing_key": key, **ARGS, "outcome": "complaint"},
            )
            is_error, payload = reply_of(body)
            assert (status, is_error, payload["version"], payload["status"]) == (200, False, 2, "recorded")
        # the gate trips, the system rolls back, and the bridge serves stable again
        wait_until(lambda: Rollout.objects.get().state == "rolled_back", timeout=10, message="the automatic rollback")
        decided = Rollout.objects.get().ended_at
        wait_until(
            lambda: served(client, bridge.url, tokens["reader"], canary_keys[0])["structuredContent"]["version"] == 1,
            timeout=2,
            interval=0.02,
            message="the bridge to serve stable",
        )
        assert (datetime.now(UTC) - decided).total_seconds() < 1.0
    assert Outcome.objects.filter(version=canary["candidate"], outcome="complaint", reporter="reporter").count() == 30
    event = AuditEvent.objects.get(action="rollout.rollback")
    assert event.actor_label == "system"
    assert event.reason.startswith("Harm is clear: complaint rate ≤ 20 %: 100.0 % (")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"routing_key": "c", **ARGS, "outcome": "happy"}, "'outcome': Input should be 'resolved', 'escalated'"),
        ({"routing_key": "", **ARGS, "outcome": "resolved"}, "conversation id"),
        ({"routing_key": "c", "category": "product", "sop_key": "nope", "outcome": "resolved"}, "SOP key not found"),
        ({"routing_key": "c", **ARGS, "outcome": "resolved", "version": 0}, "positive integer"),
        # a version never served: the app would refuse it, so it is not answered "recorded"
        ({"routing_key": "c", **ARGS, "outcome": "resolved", "version": 99}, "was never served"),
    ],
)
def test_report_outcome__bad_arguments__clear_errors(
    live_server: Any, canary: dict[str, Any], cache_dir: Path, arguments: dict[str, Any], expected: str
) -> None:
    with running_bridge(live_server.url, canary["tokens"]["bridge"], cache_dir) as bridge:
        _, body = post_tool(bridge.url, canary["tokens"]["reporter"], "report_sop_outcome", arguments)
        _, denied = post_tool(
            bridge.url,
            canary["tokens"]["reader"],
            "report_sop_outcome",
            {"routing_key": "c", **ARGS, "outcome": "resolved"},
        )
    is_error, payload = reply_of(body)
    assert is_error and expected in str(payload)
    assert reply_of(denied)[0] and "sop:report" in str(reply_of(denied)[1])
    time.sleep(0.5)
    assert not Outcome.objects.exists()
