"""Review decisions: submitting a version, signed approvals and rejections, and withdrawing."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import (
    AlreadyReviewed,
    PermissionDenied,
    SelfApprovalForbidden,
)
from apps.core.tasks import enqueue_on_commit
from apps.signatures.services import SignatureIntent, signature_required

from .. import permissions
from ..models import (
    Review,
    ReviewDecision,
    SOPVersion,
    VersionStatus,
)
from ..validation import clean_reason
from ..workflow import APPROVE, REJECT, SUBMIT, WITHDRAW, Transition
from ._common import _sign, version_lock
from .routing_checks import check_routing_policy, routing_check_request, routing_evidence
from .status import guard_state, version_transition

# --- transitions -----------------------------------------------------------------------


@transaction.atomic
def sop_version_submit(*, actor: Any, version: SOPVersion, routing_check: bool = True) -> SOPVersion:
    """Submit a draft for review; from now on it is immutable; reviewers are notified and a
    routing check is queued (unless ``routing_check=False``: library imports). Return it.

    Raises:
        PermissionDenied: the actor is neither the author nor the SOP's owner with the author role.
        InvalidTransition: the version is not a draft.
    """
    sop, version = version_lock(version)
    if not permissions.can_submit(actor, version):
        raise PermissionDenied("Only the draft's author or the SOP's owner can submit it for review.")
    version_transition(
        sop=sop,
        version=version,
        actor=actor,
        transition=SUBMIT,
        data={"approvals_required": sop.category.min_approvals},
        submitted_at=timezone.now(),
    )
    from ..tasks import notify_review_requested

    enqueue_on_commit(notify_review_requested, version.pk)
    if routing_check:
        routing_check_request(actor=None, version=version)
    return version


def _guard_review(actor: Any, version: SOPVersion, transition: Transition) -> None:
    if not permissions.can_review(actor, version):
        raise PermissionDenied("Only reviewers can approve or reject versions.")
    guard_state(version, transition)
    if permissions.is_self_review(actor, version):
        raise SelfApprovalForbidden(
            f"You wrote {version}; an author can never approve or reject their own version. Ask another reviewer."
        )
    if Review.objects.filter(version=version, reviewer=actor).exists():
        raise AlreadyReviewed(f"You have already recorded your decision on {version}.")


@transaction.atomic
def sop_version_approve(
    *, actor: Any, version: SOPVersion, comment: str = "", signature: SignatureIntent | None = None
) -> SOPVersion:
    """Record the actor's signed approval; the version becomes approved once the category's
    minimum number of approvals is reached. Return it.

    The signature records the latest finished routing check's counts and hash (what the reviewer
    had before them); a category with ``routing_policy = "no_regressions"`` approves only when
    that check found none.

    Raises:
        PermissionDenied: not a reviewer, or someone else's signature.
        InvalidTransition: the version is not in review, or the category's routing policy refuses.
        SelfApprovalForbidden: the actor wrote the version.
        AlreadyReviewed: the actor already decided on it.
        InvalidInput: no e-signature (``signatures.services.signature_verify``).
    """
    sop, version = version_lock(version)
    _guard_review(actor, version, APPROVE)
    check_routing_policy(version)
    comment = clean_reason(comment, required=APPROVE.needs_reason, field="comment")
    intent = signature_required(actor, signature, "approve")
    Review.objects.create(
        version=version,
        reviewer=actor,
        decision=ReviewDecision.APPROVED,
        comment=comment,
        content_sha256=version.content_sha256,
    )
    approvals = version.reviews.filter(decision=ReviewDecision.APPROVED).count()
    required = sop.category.min_approvals
    evidence = routing_evidence(version)
    data = {
        "approvals": approvals,
        "approvals_required": required,
        **evidence,
        **_sign(intent, version, comment, evidence),
    }
    if approvals >= required:
        version_transition(
            sop=sop,
            version=version,
            actor=actor,
            transition=APPROVE,
            reason=comment,
            data=data,
            decided_at=timezone.now(),
        )
    else:  # a review that does not yet change the status: recorded, status unchanged
        audit_record(
            actor=actor,
            action=AuditAction.VERSION_APPROVE,
            target=version,
            sop_slug=sop.slug,
            before={"status": version.status, "approvals": approvals - 1},
            after={"status": version.status, "approvals": approvals},
            reason=comment,
            data=data,
        )
    if version.status == VersionStatus.APPROVED:
        from ..tasks import notify_review_decision

        enqueue_on_commit(notify_review_decision, version.pk)
    return version


@transaction.atomic
def sop_version_reject(
    *, actor: Any, version: SOPVersion, comment: str, signature: SignatureIntent | None = None
) -> SOPVersion:
    """Reject a version in review, signed, with the reason in ``comment``; return it.

    Raises:
        InvalidInput: no comment, or no e-signature.
        PermissionDenied / InvalidTransition / SelfApprovalForbidden / AlreadyReviewed: as for approve.
    """
    sop, version = version_lock(version)
    _guard_review(actor, version, REJECT)
    comment = clean_reason(comment, required=REJECT.needs_reason, field="comment")
    intent = signature_required(actor, signature, "reject")
    Review.objects.create(
        version=version,
        reviewer=actor,
        decision=ReviewDecision.REJECTED,
        comment=comment,
        content_sha256=version.content_sha256,
    )
    version_transition(
        sop=sop,
        version=version,
        actor=actor,
        transition=REJECT,
        reason=comment,
        data=_sign(intent, version, comment),
        decided_at=timezone.now(),
    )
    from ..tasks import notify_review_decision

    enqueue_on_commit(notify_review_decision, version.pk)
    return version


@transaction.atomic
def sop_version_withdraw(
    *, actor: Any, version: SOPVersion, reason: str = "", check_permission: bool = True
) -> SOPVersion:
    """Withdraw a draft (discard it) or a version in review (take the submission back); return it.

    The version is kept, with its content and any reviews, as ``withdrawn``: nothing is deleted,
    and the audit event records who withdrew it, from which state, and why. Frees the SOP for a
    new draft. Whoever may submit the version may withdraw it (its author, or the SOP's owner for
    an agent's proposal). ``check_permission=False`` is for services that checked who may do it
    (an agent replacing its own earlier proposal).

    Raises:
        PermissionDenied: the actor may not submit this version.
        InvalidTransition: the version is neither a draft nor in review.
        InvalidInput: ``reason`` is not text or too long.
    """
    sop, version = version_lock(version)
    if check_permission and not permissions.can_withdraw(actor, version):
        raise PermissionDenied("Only the version's author or the SOP's owner can withdraw it.")
    reason = clean_reason(reason, required=False)
    version_transition(
        sop=sop,
        version=version,
        actor=actor,
        transition=WITHDRAW,
        reason=reason,
        data={"from": version.status, "origin": version.origin},
    )
    return version
