"""Routing checks of versions, and the routing tests (regression questions) of SOPs.

A check routes every SOP's regression questions with what is live and with what would be live
if the version were (``sops.routing``), and records accuracy before and after and each question
that would reach a different SOP. One is requested when a version is submitted, and on demand;
a worker runs it (``tasks.routing_check_run``). Approvals sign the latest finished check's
counts and hash; a category may require that it found no regression.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import Conflict, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from apps.core.tasks import enqueue_on_commit

from .. import permissions
from ..models import (
    MAX_TEST_QUESTION_CHARS,
    SOP,
    RoutingCheck,
    RoutingCheckStatus,
    RoutingTest,
    RoutingTestSource,
    SOPVersion,
)

STALE_AFTER = timedelta(minutes=10)
"""A check running this long lost its worker; asking again starts a new one."""


def routing_check_request(*, actor: Any | None, version: SOPVersion) -> RoutingCheck:
    """Queue a routing check of ``version`` and return it (an unfinished one is returned as is).

    Raises:
        PermissionDenied: ``actor`` may not read SOPs.
    """
    if actor is not None and not permissions.can_view(actor):
        raise PermissionDenied("Your account has no role that may read SOPs.")
    with transaction.atomic():
        open_check = (
            RoutingCheck.objects.filter(
                version=version, status__in=[RoutingCheckStatus.PENDING, RoutingCheckStatus.RUNNING]
            )
            .filter(created_at__gt=timezone.now() - STALE_AFTER)
            .first()
        )
        if open_check is not None:
            return open_check
        check = RoutingCheck.objects.create(version=version, requested_by=actor)
        from ..tasks import routing_check_run

        enqueue_on_commit(routing_check_run, check.pk)
    return check


def routing_check_run(*, check_id: int) -> RoutingCheck | None:
    """Run a pending check (claimed atomically: a re-delivered task does not run it twice); write
    its counts, changes and sha256, and an audit event by the system. Return it, or ``None`` when
    another worker has it or it is done. A failure ends it ``failed`` with the error."""
    from .. import routing

    claimed = (
        RoutingCheck.objects.filter(pk=check_id)
        .filter(
            Q(status=RoutingCheckStatus.PENDING)
            | Q(status=RoutingCheckStatus.RUNNING, started_at__lt=timezone.now() - STALE_AFTER)
        )
        .update(status=RoutingCheckStatus.RUNNING, started_at=timezone.now())
    )
    if not claimed:
        return None
    check = RoutingCheck.objects.select_related("version__sop__category").get(pk=check_id)
    version = check.version
    try:
        before = routing.library()
        after = routing.library(version)
        result = routing.compare(before, after, routing.regression_questions(version))
    except Exception as exc:
        RoutingCheck.objects.filter(pk=check.pk).update(
            status=RoutingCheckStatus.FAILED,
            error=f"{exc.__class__.__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    with transaction.atomic():
        check = RoutingCheck.objects.select_for_update().get(pk=check.pk)
        for field in (
            "questions",
            "correct_before",
            "correct_after",
            "regressions",
            "improvements",
            "changes",
            "method",
        ):
            setattr(check, field, result[field])
        check.sha256 = routing.result_sha256(check.summary(), check.changes)
        check.status = RoutingCheckStatus.DONE
        check.finished_at = timezone.now()
        check.save()
        audit_record(
            actor=None,
            action=AuditAction.VERSION_ROUTING_CHECK,
            target=version,
            sop_slug=version.sop.slug,
            data={"routing_check": check.evidence(), "changes": len(check.changes)},
        )
    return check


def latest_routing_check(version: SOPVersion) -> RoutingCheck | None:
    """Return the version's latest finished routing check, or ``None``."""
    return RoutingCheck.objects.filter(version=version, status=RoutingCheckStatus.DONE).order_by("-finished_at").first()


def routing_evidence(version: SOPVersion) -> dict[str, Any]:
    """Return what a reviewer's signature records of the routing check: ``{"routing_check":
    evidence}`` for the latest finished one, or ``{}`` when none has finished."""
    check = latest_routing_check(version)
    return {"routing_check": check.evidence()} if check is not None else {}


def check_routing_policy(version: SOPVersion) -> None:
    """Raise ``InvalidTransition`` when the version's category approves only versions without
    routing regressions and the latest check is missing or found some."""
    if version.sop.category.routing_policy != "no_regressions":
        return
    check = latest_routing_check(version)
    if check is None:
        raise InvalidTransition(
            f"{version.sop.category.slug} approves only versions whose routing check found no regression, and "
            f"{version} has no finished routing check yet. Run it from the version page and approve when it is done.",
            extra={"routing_check": None},
        )
    if check.regressions:
        raise InvalidTransition(
            f"{version.sop.category.slug} approves only versions without routing regressions; the routing check of "
            f"{version} found {check.regressions} question{'s' if check.regressions != 1 else ''} that would no longer "
            "reach their SOP. Revise the version (a new draft) or its SOPs' example questions.",
            extra={"routing_check": check.evidence()},
        )


def _clean_question(question: Any) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InvalidInput("A test question must be non-empty text.", field_errors={"question": ["Required."]})
    question = " ".join(question.split())
    if len(question) > MAX_TEST_QUESTION_CHARS:
        raise InvalidInput(
            f"Keep a test question under {MAX_TEST_QUESTION_CHARS} characters.",
            field_errors={"question": ["Too long."]},
        )
    return question


@transaction.atomic
def routing_test_add(
    *,
    actor: Any,
    sop: SOP,
    question: str,
    source: RoutingTestSource = RoutingTestSource.AUTHOR,
    tool_call_id: Any = None,
) -> RoutingTest:
    """Add ``question`` to ``sop``'s regression set (the SOP it must reach); audited. Return it.

    Raises:
        PermissionDenied: not an author, reviewer or auditor.
        InvalidInput: empty or too long. Conflict: the SOP already has it.
    """
    if not permissions.can_add_routing_test(actor, sop):
        raise PermissionDenied("Only authors, reviewers and auditors can add routing test questions.")
    question = _clean_question(question)
    if RoutingTest.objects.filter(sop=sop, question=question).exists():
        raise Conflict(f"{sop.slug} already has that test question.")
    test = RoutingTest.objects.create(
        sop=sop, question=question, source=source, tool_call_id=tool_call_id, added_by=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.ROUTING_TEST_ADD,
        target=test,
        sop_slug=sop.slug,
        after={"question": question},
        data={"source": source, "tool_call_id": str(tool_call_id) if tool_call_id else None},
    )
    return test


@transaction.atomic
def routing_test_remove(*, actor: Any, test_id: int, reason: str = "") -> None:
    """Remove a test question from its SOP's regression set; audited.

    Raises:
        NotFound: no such test. PermissionDenied: not an author or reviewer.
    """
    test = RoutingTest.objects.select_related("sop__category").filter(pk=test_id).first()
    if test is None:
        raise NotFound("No such test question.")
    if not permissions.can_remove_routing_test(actor, test.sop):
        raise PermissionDenied("Only authors and reviewers can remove routing test questions.")
    audit_record(
        actor=actor,
        action=AuditAction.ROUTING_TEST_REMOVE,
        target=test,
        sop_slug=test.sop.slug,
        before={"question": test.question},
        reason=reason,
    )
    test.delete()
