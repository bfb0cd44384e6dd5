"""Gates against the running product: conversations are served over real MCP (the bridge),
their outcomes reported over the REST API, and the system decides by itself — an equal candidate
runs to completion, a harmful one (30 % complaints against 5 %) is rolled back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.agents.services import agent_token_issue
from apps.audit.models import AuditEvent
from apps.releases import services as releases
from apps.rollouts.models import Rollout
from apps.sops.models import SOP, Category
from tests.bridge.harness import running_bridge
from tests.conftest import advance, assert_one_event_per_status_change, draft, sign
from tests.rollouts.conftest import COMPLAINTS_NOT_ABOVE_STABLE, make_plan

pytestmark = [pytest.mark.bridge, pytest.mark.django_db(transaction=True)]
ARGS = {"category": "product", "sop_key": "warranty_information"}


def start(library: dict[str, str], people: dict[str, Any]) -> tuple[SOP, dict[str, str]]:
    """Put product/warranty_information v2 in a rollout: 10 → 50 → 100 %, no soak, 30 candidate
    outcomes a stage, one gate: complaints not clearly above stable's."""
    product = Category.objects.get(slug="product")
    make_plan("e2e", [(10, 0, 30), (50, 0, 30), (100, 0, 0)], [COMPLAINTS_NOT_ABOVE_STABLE], product)
    sop = SOP.objects.get(category=product, key="warranty_information")
    # A fixed bucketing salt (it is random per SOP): the same conversations go to the candidate
    # every run, so how many it takes to collect each stage's outcomes does not vary.
    SOP.objects.filter(pk=sop.pk).update(salt="gates-e2e-fixed")
    candidate = advance(draft(sop, people["author"], content="## Warranty\n1. New wording."), people, "approved")
    releases.release_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=candidate, reason="gates e2e"
    )
    library["reporter"] = agent_token_issue(actor=None, name="reporter", scopes=["sop:report"])[1]
    return sop, library


def run(live_server: Any, cache_dir: Path, tokens: dict[str, str], rate: dict[int, float], until: Any) -> int:
    """Hold conversations until ``until()``; complaints at ``rate[version]`` (every 1/rate-th
    conversation of that version, deterministically). Return how many were held."""
    seen = {1: 0, 2: 0}
    with running_bridge(live_server.url, tokens["bridge"], cache_dir) as bridge, httpx.Client(timeout=10) as client:
        for i in range(3000):
            if until():
                return i
            key = f"conv-{i}"
            body = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "get_specific_sop", "arguments": {**ARGS, "routing_key": key}},
            }
            version = client.post(
                bridge.url, json=body, headers={"Authorization": f"Bearer {tokens['reader']}"}
            ).json()["result"]["structuredContent"]["version"]
            seen[version] += 1
            complain = seen[version] % round(1 / rate[version]) == 0
            report = {
                "routing_key": key,
                **ARGS,
                "outcome": "complaint" if complain else "resolved",
                "version": version,
            }
            response = client.post(
                f"{live_server.url}/api/v1/outcomes/",
                json=report,
                headers={"Authorization": f"Bearer {tokens['reporter']}"},
            )
            assert response.status_code == 201, response.text
    raise AssertionError("the rollout never ended")


def test_equal_candidate__runs_to_completion(
    live_server: Any, library: dict[str, str], people: dict[str, Any], cache_dir: Path
) -> None:
    _, tokens = start(library, people)
    held = run(live_server, cache_dir, tokens, {1: 0.05, 2: 0.05}, lambda: not Rollout.objects.get().is_active)
    rollout = Rollout.objects.get()
    assert rollout.state == "completed", rollout.last_evaluation
    decisions = list(
        AuditEvent.objects.filter(target_type="rollout")
        .exclude(action="rollout.wait")  # "needs N more outcomes", audited once per stage
        .order_by("id")
        .values_list("action", "actor_label")
    )
    assert decisions == [("rollout.start", "release"), ("rollout.advance", "system"), ("rollout.complete", "system")]
    # ≈ 30 / 10 % + 30 / 50 % = 360 conversations to collect both stages' candidate outcomes
    assert 200 < held < 1500
    assert_one_event_per_status_change()


def test_harmful_candidate__rolled_back_by_itself(
    live_server: Any, library: dict[str, str], people: dict[str, Any], cache_dir: Path
) -> None:
    _, tokens = start(library, people)
    run(live_server, cache_dir, tokens, {1: 0.05, 2: 0.30}, lambda: not Rollout.objects.get().is_active)
    rollout = Rollout.objects.get()
    assert rollout.state == "rolled_back"
    event = AuditEvent.objects.get(action="rollout.rollback")
    assert event.actor_label == "system" and event.reason.startswith("Harm is clear: complaint rate ≤ 1 × stable's")
    gate = event.data["gates"][0]
    assert gate["lower"] > 1.0 and gate["candidate"]["n"] >= 30
    assert_one_event_per_status_change()
