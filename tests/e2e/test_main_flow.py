"""The main flow in a real browser: draft and submit, approve, publish, served over MCP, audited."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.agents.services import agent_token_issue
from apps.sops.models import SOPVersion
from tests.bridge.harness import post_tool, reply_of, running_bridge, wait_until
from tests.conftest import advance, draft

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_CONTENT = (
    "## Steps\n1. Verify the order.\n2. Refund within 30 days.\n3. Close the case.\n\n<script>window.pwned=1</script>"
)


def test_main_flow__draft_review_publish_serve_audit(
    new_page: Any, live_server: Any, sop: Any, people: dict[str, Any], tmp_path: Path
) -> None:
    live = advance(draft(sop, people["author"]), people, "live")
    tokens = {
        "agent": agent_token_issue(actor=None, name="agent", scopes=["sop:read"])[1],
        "bridge": agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])[1],
    }
    with running_bridge(live_server.url, tokens["bridge"], tmp_path / "cache") as bridge:
        # The author drafts a new version from the live one, previews it and submits it
        author = new_page("author")
        author.click("text=SOPs")
        author.click("text=billing/refund_policy")
        author.click("#new-draft")
        author.fill("#id_content", NEW_CONTENT)
        expect(author.locator("#preview h2")).to_have_text("Steps")
        expect(author.locator("#preview li")).to_have_count(3)
        assert author.evaluate("window.pwned") is None
        author.fill("#id_change_note", "Add a closing step")
        author.click("#save-submit")
        expect(author.locator("h1 .sopgov-badge")).to_have_text("In review")
        version = SOPVersion.objects.get(sop=sop, number=2)
        assert version.status == "in_review"

        # The reviewer finds it on the dashboard, reads the diff and approves
        reviewer = new_page("reviewer")
        reviewer.click(f"#awaiting-review >> text={sop.slug} v2")
        reviewer.click("#diff-live")
        expect(reviewer.locator("#diff .sopgov-diff-insert, #diff .sopgov-diff-replace").first).to_be_visible()
        expect(reviewer.locator("#diff")).to_contain_text("Close the case.")
        reviewer.go_back()
        expect(reviewer.locator("form[data-action=approve] .sopgov-sign")).to_contain_text("Signing as reviewer")
        # A mistyped password signs nothing: refused, and the version stays in review
        reviewer.fill("#text-approve", "Clear and correct")
        reviewer.fill("#password-approve", "not my password")
        reviewer.click("form[data-action=approve] button")
        expect(reviewer.locator(".messagelist .error")).to_contain_text(
            "Wrong password: nothing was signed. 4 attempts left"
        )
        expect(reviewer.locator("h1 .sopgov-badge")).to_have_text("In review")
        expect(reviewer.locator("#signatures")).to_contain_text("No signatures yet.")
        expect(reviewer.locator("#text-approve")).to_have_value("Clear and correct")  # the comment is kept
        reviewer.select_option("#meaning-approve", "approved")
        reviewer.fill("#password-approve", "pw")
        reviewer.click("form[data-action=approve] button")
        expect(reviewer.locator("h1 .sopgov-badge")).to_have_text("Approved")
        expect(reviewer.locator("#reviews")).to_contain_text("Clear and correct")
        expect(reviewer.locator("#signatures")).to_contain_text("reviewer — Approved —")

        # The release manager starts a rollout (v1 is live), then promotes the canary to everyone;
        # the bridge serves it within a second
        release = new_page("release")
        release.click(f"#ready-to-publish >> text={sop.slug} v2")
        expect(release.locator("#plan-preview")).to_contain_text("Standard canary")
        release.fill("#text-publish", "Ready for all conversations")
        release.fill("#password-publish", "pw")
        release.click("form[data-action=publish] button")
        expect(release.locator("h1 .sopgov-badge")).to_have_text("Canary")
        release.click("#rollout-banner a")
        expect(release.locator("#rollout-percentage")).to_have_text("5 %")
        release.fill("#reason-complete", "Reviewed twice; no need to wait")
        expect(release.locator("form[data-control=complete] .sopgov-sign")).to_contain_text("Signing as release")
        release.fill("#password-complete", "pw")
        release.click("form[data-control=complete] button")
        expect(release.locator("#rollout-state")).to_have_text("Completed")
        published = time.monotonic()
        wait_until(
            lambda: (
                reply_of(
                    post_tool(
                        bridge.url,
                        tokens["agent"],
                        "get_specific_sop",
                        {"category": "billing", "sop_key": "refund_policy"},
                    )[1]
                )[1]["version"]
                == 2
            ),
            timeout=1.0,
            interval=0.02,
            message="the bridge to serve v2",
        )
        assert time.monotonic() - published < 1.0
        live.refresh_from_db()
        assert live.status == "superseded"

    # The auditor sees the whole trail and can change nothing
    auditor = new_page("auditor")
    auditor.click("text=Audit trail")
    trail = auditor.locator("#events")
    for label in (
        "Submitted for review",
        "Approved",
        "Canary started",
        "Rollout started",
        "Rollout completed: went live",
        "Superseded",
        "Bundle published",
    ):
        expect(trail).to_contain_text(label)
    expect(trail).to_contain_text("reviewer")
    auditor.goto(f"/admin/sops/sopversion/{version.pk}/change/")
    expect(auditor.locator("#no-actions")).to_be_visible()
    expect(auditor.locator("form.sopgov-action")).to_have_count(0)
    expect(auditor.locator("#rendered script")).to_have_count(0)
    response = auditor.goto(f"/admin/sops/sop/{sop.pk}/draft/")
    assert response is not None and response.status == 403


def test_reviewer__rejects_with_reason__author_sees_it(new_page: Any, sop: Any, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author"]), people, "in_review")
    reviewer = new_page("reviewer")
    reviewer.goto(f"/admin/sops/sopversion/{version.pk}/change/")
    reviewer.fill("#password-reject", "pw")
    reviewer.click("form[data-action=reject] button")  # empty reason: the browser asks for it
    expect(reviewer.locator("h1 .sopgov-badge")).to_have_text("In review")
    reviewer.fill("#text-reject", "Step 2 contradicts the refund policy")
    reviewer.click("form[data-action=reject] button")
    expect(reviewer.locator("h1 .sopgov-badge")).to_have_text("Rejected")
    author = new_page("author")
    author.goto(f"/admin/sops/sopversion/{version.pk}/change/")
    expect(author.locator("#reviews")).to_contain_text("Step 2 contradicts the refund policy")


def test_self_approval__not_offered_in_browser(new_page: Any, sop: Any, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author_reviewer"]), people, "in_review")
    page = new_page("author_reviewer")
    page.goto(f"/admin/sops/sopversion/{version.pk}/change/")
    expect(page.locator("form[data-action=approve]")).to_have_count(0)
    expect(page.locator("form[data-action=reject]")).to_have_count(0)
    # their own submission: they may only take it back
    expect(page.locator("form[data-action=withdraw] button")).to_have_text("Withdraw from review")


def test_editor__invalid_then_fixed__nothing_lost(new_page: Any, sop: Any, people: dict[str, Any]) -> None:
    page = new_page("author")
    page.goto(f"/admin/sops/sop/{sop.pk}/draft/")
    page.fill("#id_content", "## My careful procedure")
    page.fill("#id_summary", "")
    page.click("input[name=_save]")
    expect(page.locator("#form-error")).to_be_visible()
    expect(page.locator("#id_content")).to_have_value("## My careful procedure")
    page.fill("#id_summary", "Use for refunds.")
    page.fill("#id_change_note", "First version")
    page.click("input[name=_save]")
    expect(page.locator("h1 .sopgov-badge")).to_have_text("Draft")


def test_editor__content_over_the_limit__refused_in_place_text_kept(
    new_page: Any, sop: Any, people: dict[str, Any]
) -> None:
    page = new_page("author")
    page.goto(f"/admin/sops/sop/{sop.pk}/draft/")
    huge = "## Steps\n" + "1. A very long procedure line.\n" * 120_000  # ≈ 3.7 MB
    page.evaluate("text => { document.getElementById('id_content').value = text; }", huge)
    page.fill("#id_summary", "Use for refunds.")
    page.fill("#id_change_note", "Everything at once")
    page.click("input[name=_save]")
    expect(page.locator("#content-too-large")).to_contain_text("the limit is 200,000 bytes")
    assert page.evaluate("document.getElementById('id_content').value.length") == len(huge)
    assert not sop.versions.exists()


def test_api_docs__swagger_ui_renders_offline(new_page: Any, people: dict[str, Any]) -> None:
    page = new_page("auditor")
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .title")).to_contain_text("sopgov API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
