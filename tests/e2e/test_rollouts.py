"""Rollouts in a real browser: start one, pause it, and see an automatic rollback explained."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.rollouts.models import OutcomeSource, Rollout
from apps.rollouts.services import outcomes_record
from apps.sops.models import SOPVersion
from tests.rollouts.conftest import COMPLAINTS_AT_MOST_20_PERCENT, make_plan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_rollout__start_pause_then_automatic_rollback_shown(
    new_page: Any, sop: Any, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    make_plan("fast", [(10, 600), (50, 600), (100, 0)], [COMPLAINTS_AT_MOST_20_PERCENT], sop.category)
    release = new_page("release")
    # Start: the version page offers a rollout, not an instant publish
    release.goto(f"/admin/sops/sopversion/{candidate.pk}/change/")
    expect(release.locator("form[data-action=publish] button")).to_have_text("Start rollout")
    expect(release.locator("form[data-action=publish] .sopgov-action-help")).to_contain_text("10 % → 50 % → 100 %")
    release.fill("#text-publish", "Try the new wording on a slice")
    release.fill("#password-publish", "pw")
    release.click("form[data-action=publish] button")
    expect(release.locator("h1 .sopgov-badge")).to_have_text("Canary")
    release.click("#rollout-banner a")
    expect(release.locator("#rollout-state")).to_have_text("Running")
    expect(release.locator("#rollout-percentage")).to_have_text("10 %")
    expect(release.locator("#stages li.current")).to_contain_text("10 %")
    expect(release.locator("#charts")).to_have_attribute("data-loaded", "true")
    # Pause, with a reason
    release.fill("#reason-pause", "Waiting for the weekend traffic")
    release.click("form[data-control=pause] button")
    expect(release.locator("#rollout-state")).to_have_text("Paused")
    expect(release.locator("#decisions")).to_contain_text("Waiting for the weekend traffic")
    expect(release.locator("form[data-control=resume]")).to_be_visible()
    # Complaints come in for the candidate; their arrival triggers an evaluation, and the system
    # rolls back even while paused
    outcomes_record(
        records=[
            {
                "outcome_id": str(uuid.uuid4()),
                "version_id": candidate.pk,
                "routing_key": f"c{i}",
                "outcome": "complaint" if i < 8 else "resolved",
            }
            for i in range(12)
        ],
        source=OutcomeSource.AGENT,
    )
    assert Rollout.objects.get().state == "rolled_back"
    # An auditor sees why, with the numbers, and no controls
    auditor = new_page("auditor")
    auditor.goto(f"/admin/rollouts/rollout/{Rollout.objects.get().pk}/change/")
    expect(auditor.locator("#rollout-state")).to_have_text("Rolled back")
    first = auditor.locator("#decisions tbody tr").first
    expect(first).to_contain_text("system")
    expect(first).to_contain_text("Rollout rolled back automatically")
    expect(first).to_contain_text("complaint rate = 0.667 (needs <= 0.2): fail, 12 candidate outcomes")
    expect(auditor.locator("#gates .sopgov-gate-fail")).to_have_count(2)  # row and badge
    expect(auditor.locator("#no-controls")).to_contain_text("ended")
    expect(auditor.locator("#charts")).to_have_attribute("data-loaded", "true")
