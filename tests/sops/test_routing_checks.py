"""Routing checks of submitted versions (before/after accuracy, changed answers), the category
policy that blocks approval on regressions, the evidence signed into approvals, and routing
tests (regression questions)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.core.errors import Conflict, InvalidInput, InvalidTransition, PermissionDenied
from apps.signatures.models import Signature
from apps.sops import routing, services
from apps.sops.models import SOP, RoutingCheck, RoutingTest, SOPVersion
from tests.conftest import draft, sign

# A new version of billing/refund_policy whose examples are the account-lockout questions:
# approving it would send customers who are locked out to the refund procedure.
STEALING_EXAMPLES = [
    "My account is locked, help!",
    "I typed the wrong password a few times and now it says my account is locked. Can you unlock it?",
    "how long does the lockout last",
    "I can't sign in, it says too many attempts. I need to get in today for work.",
]


def no_regressions(sop: SOP, people: dict[str, Any]) -> None:
    category = sop.category
    services.category_update(
        actor=people["admin"],
        category=category,
        name=category.name,
        description=category.description,
        min_approvals=category.min_approvals,
        routing_policy="no_regressions",
    )


def submitted(sop: SOP, people: dict[str, Any], capture: Any, examples: list[str]) -> SOPVersion:
    """Submit a new version of ``sop`` with ``examples``; run the routing check queued on commit."""
    live = sop.versions.get(status="live")
    version = draft(sop, people["author"], content=live.content, summary=live.summary, example_questions=examples)
    with capture(execute=True):
        version = services.sop_version_submit(actor=people["author"], version=version)
    return version


@pytest.fixture
def stealing(
    customer_service: dict[str, SOP], people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> SOPVersion:
    """A submitted version of billing/refund_policy with ``STEALING_EXAMPLES``, its check run."""
    return submitted(
        customer_service["billing/refund_policy"], people, django_capture_on_commit_callbacks, STEALING_EXAMPLES
    )


def test_submit__check_runs__reports_questions_that_would_reach_another_sop(stealing: SOPVersion) -> None:
    version = stealing
    check = RoutingCheck.objects.get(version=version)
    assert check.status == "done" and check.method == "minilm+use"
    assert check.regressions >= 1
    regressed = [c for c in check.changes if c["before"] == c["expected"] != c["after"]]
    assert regressed and {c["expected"] for c in regressed} == {"technical_support/account_lockout"}
    assert {c["after"] for c in regressed} == {"billing/refund_policy"}
    assert len(check.sha256) == 64
    event = AuditEvent.objects.get(action="version.routing_check", target_id=str(version.pk))
    assert event.actor is None and event.data["routing_check"]["sha256"] == check.sha256


def test_submit__harmless_change__no_regression(
    customer_service: dict[str, SOP], people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    sop = customer_service["billing/refund_policy"]
    examples = [*sop.versions.get(status="live").example_questions, "Can I have a refund for a gift?"]
    version = submitted(sop, people, django_capture_on_commit_callbacks, examples)
    check = RoutingCheck.objects.get(version=version)
    assert check.status == "done" and check.regressions == 0
    assert check.questions > 40 and check.correct_after >= check.correct_before


def test_approve__evidence_of_the_check_in_signature_and_audit_event(
    stealing: SOPVersion, people: dict[str, Any]
) -> None:
    version = stealing
    check = RoutingCheck.objects.get(version=version)
    services.sop_version_approve(
        actor=people["reviewer"], signature=sign(people["reviewer"], "approve"), version=version, comment="seen"
    )
    signature = Signature.objects.get(version=version, action="approve")
    assert signature.evidence["routing_check"]["sha256"] == check.sha256
    assert signature.evidence["routing_check"]["regressions"] == check.regressions
    event = AuditEvent.objects.get(action="version.approve", target_id=str(version.pk))
    assert event.data["routing_check"]["check"] == check.pk


def test_approve__no_regressions_policy__refused_with_the_check_then_allowed_without(
    customer_service: dict[str, SOP], people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    sop = customer_service["billing/refund_policy"]
    no_regressions(sop, people)
    version = submitted(sop, people, django_capture_on_commit_callbacks, STEALING_EXAMPLES)
    with pytest.raises(InvalidTransition, match="would no longer reach their SOP") as refused:
        services.sop_version_approve(
            actor=people["reviewer"], signature=sign(people["reviewer"], "approve"), version=version
        )
    assert refused.value.extra["routing_check"]["regressions"] >= 1
    assert SOPVersion.objects.get(pk=version.pk).status == "in_review"
    assert not Signature.objects.filter(version=version).exists()

    fixed = submitted(sop, people, django_capture_on_commit_callbacks, ["Can I get a refund for my order?"])
    fixed = services.sop_version_approve(
        actor=people["reviewer"], signature=sign(people["reviewer"], "approve"), version=fixed
    )
    assert fixed.status == "approved"


def test_approve__no_regressions_policy__check_not_finished__refused(
    customer_service: dict[str, SOP], people: dict[str, Any]
) -> None:
    sop = customer_service["billing/refund_policy"]
    no_regressions(sop, people)
    version = services.sop_version_submit(actor=people["author"], version=draft(sop, people["author"]))
    assert RoutingCheck.objects.get(version=version).status == "pending"  # queued, not run yet
    with pytest.raises(InvalidTransition, match="no finished routing check"):
        services.sop_version_approve(
            actor=people["reviewer"], signature=sign(people["reviewer"], "approve"), version=version
        )


def test_check_request__while_one_is_open__same_check(customer_service: dict[str, SOP], people: dict[str, Any]) -> None:
    version = services.sop_version_submit(
        actor=people["author"], version=draft(customer_service["billing/refund_policy"], people["author"])
    )
    again = services.routing_check_request(actor=people["reviewer"], version=version)
    assert RoutingCheck.objects.filter(version=version).count() == 1
    assert again.status == "pending"
    with pytest.raises(PermissionDenied):
        services.routing_check_request(actor=people["nobody"], version=version)


def test_check_run__twice__runs_once(stealing: SOPVersion) -> None:
    check = RoutingCheck.objects.get(version=stealing)
    assert services.routing_check_run(check_id=check.pk) is None
    assert AuditEvent.objects.filter(action="version.routing_check").count() == 1


def test_routing_test__added_question__asked_by_the_next_check(
    customer_service: dict[str, SOP], people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    lockout = customer_service["technical_support/account_lockout"]
    question = "Help! I'm locked out of my account and can't sign in"
    test = services.routing_test_add(actor=people["auditor"], sop=lockout, question=f"  {question} ")
    assert test.question == question
    event = AuditEvent.objects.get(action="routing_test.add")
    assert event.actor == people["auditor"] and event.after == {"question": question}

    # the new refund version claims that very question as one of its examples
    version = submitted(
        customer_service["billing/refund_policy"],
        people,
        django_capture_on_commit_callbacks,
        [*STEALING_EXAMPLES, question],
    )
    check = RoutingCheck.objects.get(version=version)
    assert (question, "technical_support/account_lockout") in routing.regression_questions(version)
    assert check.questions == len(routing.regression_questions(version))
    stolen = [c for c in check.changes if c["question"] == question and c["expected"] != "billing/refund_policy"]
    assert stolen == [
        {
            "question": question,
            "expected": "technical_support/account_lockout",
            "before": "technical_support/account_lockout",
            "after": "billing/refund_policy",
        }
    ]

    services.routing_test_remove(actor=people["reviewer"], test_id=test.pk, reason="duplicate")
    assert not RoutingTest.objects.exists()
    removed = AuditEvent.objects.get(action="routing_test.remove")
    assert removed.before == {"question": question} and removed.reason == "duplicate"


@pytest.mark.parametrize(
    ("question", "error"),
    [("", InvalidInput), ("   ", InvalidInput), ("x" * 1001, InvalidInput), (None, InvalidInput)],
)
def test_routing_test_add__bad_question__clear_error_nothing_kept(
    customer_service: dict[str, SOP], people: dict[str, Any], question: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        services.routing_test_add(
            actor=people["author"], sop=customer_service["billing/refund_policy"], question=question
        )
    assert not RoutingTest.objects.exists()


def test_routing_test__duplicate_and_roles(customer_service: dict[str, SOP], people: dict[str, Any]) -> None:
    sop = customer_service["billing/refund_policy"]
    test = services.routing_test_add(actor=people["author"], sop=sop, question="Money back please")
    with pytest.raises(Conflict):
        services.routing_test_add(actor=people["reviewer"], sop=sop, question="Money back please")
    with pytest.raises(PermissionDenied):
        services.routing_test_add(actor=people["nobody"], sop=sop, question="Another one")
    with pytest.raises(PermissionDenied):
        services.routing_test_remove(actor=people["auditor"], test_id=test.pk)
    assert RoutingTest.objects.count() == 1
