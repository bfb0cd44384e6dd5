"""The version lifecycle: every status change a version can make, and the audit action it writes.

    draft ──submit──► in_review ──approve (enough approvals)──► approved
                          └──reject──► rejected
    draft | in_review ──withdraw──► withdrawn   (the author discards a draft or takes back a submission)
    approved ──go live──► live                       (first version, or a release without rollout)
    approved ──start canary──► canary ──complete rollout──► live
                               canary ──withdraw canary──► approved   (rollout aborted or rolled back)
    live ──supersede──► superseded        (another version went live)
    live ──retire──► retired
    superseded | retired ──roll back──► live

This table is the one place the allowed source states are written down. The one writer of a
version's status (``services.status.version_transition``) checks every change against it and
writes the transition's own audit action; the release layer (``apps.releases``) decides *which*
release transition happens, this module only what each one may start from.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.audit.models import AuditAction

from .models import VersionStatus as S


@dataclass(frozen=True)
class Transition:
    """A status change of a version: the states it may start from, the state it leads to and
    the audit action that records it."""

    action: str
    sources: frozenset[str]
    target: str
    audit_action: AuditAction
    needs_reason: bool = False


SUBMIT = Transition("submit", frozenset({S.DRAFT}), S.IN_REVIEW, AuditAction.VERSION_SUBMIT)
APPROVE = Transition("approve", frozenset({S.IN_REVIEW}), S.APPROVED, AuditAction.VERSION_APPROVE)
REJECT = Transition("reject", frozenset({S.IN_REVIEW}), S.REJECTED, AuditAction.VERSION_REJECT, needs_reason=True)
WITHDRAW = Transition("withdraw", frozenset({S.DRAFT, S.IN_REVIEW}), S.WITHDRAWN, AuditAction.VERSION_WITHDRAW)
GO_LIVE = Transition("go_live", frozenset({S.APPROVED}), S.LIVE, AuditAction.VERSION_GO_LIVE)
START_CANARY = Transition("start_canary", frozenset({S.APPROVED}), S.CANARY, AuditAction.VERSION_CANARY_START)
COMPLETE_ROLLOUT = Transition("complete_rollout", frozenset({S.CANARY}), S.LIVE, AuditAction.VERSION_ROLLOUT_COMPLETE)
WITHDRAW_CANARY = Transition(
    "withdraw_canary", frozenset({S.CANARY}), S.APPROVED, AuditAction.VERSION_CANARY_WITHDRAW, needs_reason=True
)
SUPERSEDE = Transition("supersede", frozenset({S.LIVE}), S.SUPERSEDED, AuditAction.VERSION_SUPERSEDE)
ROLLBACK = Transition(
    "rollback", frozenset({S.SUPERSEDED, S.RETIRED}), S.LIVE, AuditAction.VERSION_ROLLBACK, needs_reason=True
)
RETIRE = Transition("retire", frozenset({S.LIVE}), S.RETIRED, AuditAction.VERSION_RETIRE, needs_reason=True)

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        SUBMIT,
        APPROVE,
        REJECT,
        WITHDRAW,
        GO_LIVE,
        START_CANARY,
        COMPLETE_ROLLOUT,
        WITHDRAW_CANARY,
        SUPERSEDE,
        ROLLBACK,
        RETIRE,
    )
}

REVIEW_ACTIONS = ("submit", "approve", "reject", "withdraw")
"""Transitions people press on the version page of ``sops``; release actions live in ``apps.releases``."""

EDITABLE_STATES = frozenset({S.DRAFT})
"""Only drafts may change; a submitted version is immutable (an edit is a new version)."""
