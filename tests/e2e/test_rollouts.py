"""Rollouts in a real browser: start one, pause it, and see an automatic rollback explained."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.releases.services import outcomes_ingest
from apps.rollouts.models import OutcomeSource, Rollout
from apps.sops.models import SOPVersion
from tests.rollouts.conftest import COMPLAINTS_AT_MOST_20_PERCENT, make_plan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_rollout__start_pause_then_automatic_rollback_shown(
    new_page: Any, sop: Any, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    make_plan("fast", [(10, 600, 10), (50, 600, 10), (100, 0, 0)], [COMPLAINTS_AT_MOST_20_PERCENT], sop.category)
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
    outcomes_ingest(
        records=[
            {
                "outcome_id": str(uuid.uuid4()),
                "version_id": candidate.pk,
                "routing_key": f"c{i}",
                "outcome": "complaint" if i < 20 else "resolved",
            }
            for i in range(30)
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
    expect(first).to_contain_text("Harm is clear: complaint rate ≤ 20 %: 66.7 % (")
    expect(first).to_contain_text("20/30 candidate")
    expect(auditor.locator("#gates .sopgov-gate-harm")).to_have_count(2)  # row and badge
    expect(auditor.locator("#gates .sopgov-estimate")).to_contain_text("66.7 % (")
    expect(auditor.locator("#no-controls")).to_contain_text("ended")
    expect(auditor.locator("#charts")).to_have_attribute("data-loaded", "true")
    # The SOP's owner finds a notice on the dashboard, opens the rollout, and dismisses it
    owner = new_page("author")
    notice = owner.locator("#notices li")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Rolled back automatically")
    expect(notice).to_contain_text(sop.slug)
    owner.click("#notices button.sopgov-dismiss")
    expect(owner.locator("#notices")).to_have_count(0)


def test_rollout__abort_needs_a_signature(
    new_page: Any, sop: Any, candidate: SOPVersion, people: dict[str, Any]
) -> None:
    from tests.releases.conftest import publish

    make_plan("fast", [(10, 600, 10), (50, 600, 10), (100, 0, 0)], [COMPLAINTS_AT_MOST_20_PERCENT], sop.category)
    publish(candidate, people)
    release = new_page("release")
    release.goto(f"/admin/rollouts/rollout/{Rollout.objects.get().pk}/change/")
    expect(release.locator("#gates")).to_contain_text("no data yet")
    release.fill("#reason-abort", "Wrong tone for refunds")
    release.fill("#password-abort", "not mine")
    release.click("form[data-control=abort] button")
    expect(release.locator(".messagelist .error")).to_contain_text("Wrong password")
    expect(release.locator("#rollout-state")).to_have_text("Running")
    release.fill("#reason-abort", "Wrong tone for refunds")
    release.fill("#password-abort", "pw")
    release.click("form[data-control=abort] button")
    expect(release.locator("#rollout-state")).to_have_text("Aborted")
    expect(release.locator("#decisions tbody tr").first).to_contain_text("Wrong tone for refunds")
