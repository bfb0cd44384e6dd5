"""The version lifecycle: which action moves a version from which states to which state.

    draft ──submit──► in_review ──approve (enough approvals)──► approved ──publish──► live
                          └──reject──► rejected                               live ──retire──► retired
    approved ──publish (an SOP that has a live version)──► canary: a rollout (apps.rollouts)
    canary ──rollout completes──► live        canary ──rollout aborted / rolled back──► approved
    live ──(another version made live)──► superseded
    superseded | retired ──rollback──► live

This table is the one place the allowed source states are written down; services guard on it
and the UI shows buttons from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import VersionStatus as S


@dataclass(frozen=True)
class Transition:
    """An action on a version: the states it may start from and the state it leads to."""

    action: str
    sources: frozenset[str]
    target: str
    needs_reason: bool = False


SUBMIT = Transition("submit", frozenset({S.DRAFT}), S.IN_REVIEW)
APPROVE = Transition("approve", frozenset({S.IN_REVIEW}), S.APPROVED)
REJECT = Transition("reject", frozenset({S.IN_REVIEW}), S.REJECTED, needs_reason=True)
PUBLISH = Transition("publish", frozenset({S.APPROVED}), S.LIVE)
ROLLBACK = Transition("rollback", frozenset({S.SUPERSEDED, S.RETIRED}), S.LIVE, needs_reason=True)
RETIRE = Transition("retire", frozenset({S.LIVE}), S.RETIRED, needs_reason=True)

TRANSITIONS: dict[str, Transition] = {t.action: t for t in (SUBMIT, APPROVE, REJECT, PUBLISH, ROLLBACK, RETIRE)}

EDITABLE_STATES = frozenset({S.DRAFT})
"""Only drafts may change; a submitted version is immutable (an edit is a new version)."""
