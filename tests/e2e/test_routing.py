"""Routing in a real browser: the routing check a reviewer reads before signing, the playground,
and a real question from the tool-call log kept as a routing test."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from apps.agents.telemetry import telemetry_record
from apps.sops.models import SOP, RoutingCheck, RoutingTest, SOPVersion
from tests.conftest import draft
from tests.sops.test_routing_checks import STEALING_EXAMPLES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_routing_check__submitted_in_browser__reviewer_sees_regressions_and_tries_them(
    new_page: Any, customer_service: dict[str, SOP], people: dict[str, Any]
) -> None:
    refund = customer_service["billing/refund_policy"]
    live = refund.versions.get(status="live")
    version = draft(refund, people["author"], content=live.content, summary=live.summary)
    author = new_page("author")
    author.goto(f"/admin/sops/sopversion/{version.pk}/edit/")
    author.fill("#id_example_questions", "\n".join(STEALING_EXAMPLES))
    author.fill("#id_new_test_questions", "Can I have my money back for a gift?")
    author.fill("#id_change_note", "Examples from the chat logs")
    author.click("#save-submit")
    expect(author.locator("h1 .sopgov-badge")).to_have_text("In review")
    assert [t.question for t in RoutingTest.objects.filter(sop=refund)] == ["Can I have my money back for a gift?"]
    # The check ran on submit (a worker; in tests, on commit in the request)
    check = RoutingCheck.objects.get(version=version)
    assert check.status == "done" and check.regressions >= 1

    reviewer = new_page("reviewer")
    reviewer.goto(f"/admin/sops/sopversion/{version.pk}/change/")
    expect(reviewer.locator("#routing-regressions")).to_have_text(str(check.regressions))
    regression = reviewer.locator("#routing-changes tr.sopgov-regression").first
    expect(regression).to_contain_text("technical_support/account_lockout")
    expect(regression).to_contain_text("billing/refund_policy")
    # The playground, with this version as the candidate: live and candidate answers side by side
    reviewer.click("#try-routing")
    expect(reviewer.locator("#playground-candidate")).to_have_value(str(version.pk))
    reviewer.fill("#playground-question", STEALING_EXAMPLES[0])
    reviewer.click("#playground-form button")
    expect(reviewer.locator("#trial-live .sopgov-answer")).to_contain_text("technical_support/account_lockout")
    expect(reviewer.locator("#trial-candidate .sopgov-answer")).to_contain_text("billing/refund_policy")
    expect(reviewer.locator("#trial-live")).to_contain_text("by meaning")
    # A question nothing covers
    reviewer.fill("#playground-question", "Recommend me a good pizza place")
    reviewer.click("#playground-form button")
    expect(reviewer.locator("#trial-live .sopgov-answer")).to_contain_text("nothing fits")


def test_tool_call_log__auditor_keeps_a_real_question_as_a_routing_test(
    new_page: Any, customer_service: dict[str, SOP], people: dict[str, Any]
) -> None:
    question = "My profile is frozen after several failed sign-ins"
    call = {
        "kind": "call",
        "call_id": str(uuid.uuid4()),
        "called_at": timezone.now().isoformat(),
        "tool": "get_sop_for_question",
        "agent_name": "support-bot",
        "arguments_sha256": "0" * 64,
        "sop_slug": "billing/refund_policy",  # served the wrong SOP
        "latency_ms": 4.2,
        "question": question,
    }
    with transaction.atomic():
        telemetry_record(bridge_id="bridge-1", calls=[call], outcomes=[])
    auditor = new_page("auditor")
    auditor.goto("/admin/agents/toolcall/")
    box = auditor.locator(".sopgov-add-test").first
    expect(box.locator("input")).to_have_value("billing/refund_policy")
    box.locator("input").fill("technical_support/account_lockout")
    box.locator("button").click()
    expect(auditor.locator(".messagelist .success")).to_contain_text("technical_support/account_lockout")
    test = RoutingTest.objects.get()
    assert (test.sop.slug, test.question, test.source) == ("technical_support/account_lockout", question, "tool_call")
    assert str(test.tool_call_id) == call["call_id"]
    # The SOP's page lists it; an author can remove it
    author = new_page("author")
    author.goto(f"/admin/sops/sop/{test.sop.pk}/change/")
    expect(author.locator("#routing-tests")).to_contain_text(question)
    author.click("#routing-tests .sopgov-remove")
    expect(author.locator(".messagelist .success")).to_contain_text("Removed")
    assert not RoutingTest.objects.exists()
    assert SOPVersion.objects.filter(sop=test.sop, status="live").count() == 1
