"""The release pages: the rollout page (served and reported counts, the split, gates with their
intervals, signed controls), release buttons on the version page, notices on the dashboard."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.agents.models import ToolCall
from apps.audit.models import AuditEvent
from apps.releases.models import ReleaseNotice
from apps.releases.services import rollout_evaluate
from apps.rollouts.models import Outcome, Rollout
from apps.signatures.models import Signature
from apps.sops.models import SOPVersion
from tests.releases.conftest import report


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


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
    response = client.post(f"/admin/release/rollouts/{rollout.pk}/pause/", {"reason": "look"}, follow=True)
    rollout.refresh_from_db()
    assert rollout.state == ("paused" if allowed else "running")
    if not allowed:
        assert any("Only release managers" in str(m) for m in response.context["messages"])


def test_rollout_page__abort_is_signed(rollout: Rollout, candidate: SOPVersion, people: dict[str, Any]) -> None:
    client = login(people["release"])
    html = client.get(f"/admin/rollouts/rollout/{rollout.pk}/change/").content.decode()
    assert 'id="password-abort"' in html and 'id="password-pause"' not in html
    wrong = client.post(
        f"/admin/release/rollouts/{rollout.pk}/abort/", {"reason": "x", "password": "nope"}, follow=True
    )
    assert any("Wrong password" in str(m) for m in wrong.context["messages"])
    assert Rollout.objects.get().state == "running"
    client.post(f"/admin/release/rollouts/{rollout.pk}/abort/", {"reason": "tone", "password": "pw"}, follow=True)
    assert Rollout.objects.get().state == "aborted"
    assert Signature.objects.get(action="rollout_abort").version_id == candidate.pk


def test_rollout_page__served_and_reported_over_the_same_period(
    rollout: Rollout, candidate: SOPVersion, live_version: SOPVersion, people: dict[str, Any]
) -> None:
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

    # c1 called twice (one conversation), c2 and c3 on stable, one call without a routing key
    ToolCall.objects.bulk_create(
        [call("canary", "c1"), call("canary", "c1"), call("stable", "c2"), call("stable", "c3"), call("stable", "")]
    )
    report(candidate, "resolved", 1)
    report(live_version, "complaint", 1)
    report(live_version, "resolved", 1)
    html = login(people["auditor"]).get(f"/admin/rollouts/rollout/{rollout.pk}/change/").content.decode()
    assert '<tr id="served-candidate"><td>Candidate v2</td><td>1</td><td>1</td><td>0</td>' in html
    assert '<tr id="served-stable"><td>Stable v1</td><td>2</td><td>2</td><td>1</td>' in html
    assert "1 call without a routing key got stable" in html


def test_rollout_page__gate_estimate_interval_and_outcomes_to_decide(
    rollout: Rollout, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    report(candidate, "complaint", 3)
    report(candidate, "resolved", 7)
    html = login(people["auditor"]).get(f"/admin/rollouts/rollout/{rollout.pk}/change/").content.decode()
    assert "Complaint rate ≤ 20 %" in html
    assert "30.0 % (" in html  # the estimate with its interval
    assert "no evidence of harm" in html
    assert "about " in html and " more outcomes" in html
    assert "1.000" not in html  # no raw ratio of smoothed 0/0


def test_rollout_page__no_outcomes__no_data_not_numbers(rollout: Rollout, people: dict[str, Any]) -> None:
    html = login(people["auditor"]).get(f"/admin/rollouts/rollout/{rollout.pk}/change/").content.decode()
    assert "no data yet" in html


def test_rollout_list__active_first(rollout: Rollout, people: dict[str, Any]) -> None:
    html = login(people["auditor"]).get("/admin/rollouts/rollout/?state__exact=running").content.decode()
    assert "billing/refund_policy" in html and "v1 → v2" in html


def test_version_page__start_rollout_shows_stage_durations_at_recent_traffic(
    candidate: SOPVersion, fast_plan: Any, live_version: SOPVersion, people: dict[str, Any]
) -> None:
    # 24 outcomes an hour over the last 7 days
    Outcome.objects.bulk_create(
        Outcome(
            outcome_id=uuid.uuid4(),
            recorded_at=timezone.now(),
            sop=live_version.sop,
            version=live_version,
            outcome="resolved",
            source="api",
        )
        for _ in range(24 * 24 * 7)
    )
    html = login(people["release"]).get(f"/admin/sops/sopversion/{candidate.pk}/change/").content.decode()
    assert "Start rollout" in html
    assert 'id="plan-preview"' in html
    assert "24.0 outcomes an hour" in html
    # 10 % of 24/h is 2.4/h: 10 outcomes take about 4 h 10 min, longer than the 60 s soak
    assert "4 h 10 min" in html


def test_version_page__rolled_back_version_does_not_say_live_since(
    rollout: Rollout, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    report(candidate, "complaint", 30)
    assert rollout_evaluate(rollout_id=rollout.pk) == "rolled_back"
    html = login(people["auditor"]).get(f"/admin/sops/sopversion/{candidate.pk}/change/").content.decode()
    assert "Live since" not in html
    assert 'id="past-rollouts"' in html and "Rolled back" in html


def test_dashboard__notice_shown_until_dismissed(
    rollout: Rollout, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    report(candidate, "complaint", 30)
    rollout_evaluate(rollout_id=rollout.pk)
    client = login(people["author"])  # the SOP's owner
    html = client.get("/admin/").content.decode()
    assert 'id="notices"' in html and "Rolled back automatically" in html
    notice = ReleaseNotice.objects.get(recipient=people["author"])
    assert login(people["release"]).post(f"/admin/release/notices/{notice.pk}/dismiss/").status_code == 404
    client.post(f"/admin/release/notices/{notice.pk}/dismiss/")
    assert 'id="notices"' not in client.get("/admin/").content.decode()
    assert not AuditEvent.objects.filter(action="notice.dismiss").exists()


def test_publish__wrong_password__reason_and_meaning_kept_on_the_page_once(
    candidate: SOPVersion, people: dict[str, Any]
) -> None:
    from django.urls import reverse

    client = login(people["release"])
    url = reverse("releases:version_action", args=[candidate.pk, "publish"])
    page = client.post(url, {"text": "Ship the new wording", "password": "nope", "meaning": "released"}, follow=True)
    html = page.content.decode()
    assert "Wrong password" in html
    assert ">Ship the new wording</textarea>" in html
    assert '<option value="released" selected>' in html
    again = client.get(reverse("admin:sops_sopversion_change", args=[candidate.pk])).content.decode()
    assert ">Ship the new wording</textarea>" not in again  # given back once
    assert SOPVersion.objects.get(pk=candidate.pk).status == "approved"
