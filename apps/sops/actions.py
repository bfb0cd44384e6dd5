"""Entry points for the e-signed review decisions — approve, reject, confirm a periodic review —
called alike by the admin pages and the API (``signatures.actions.sign_and_do``)."""

from __future__ import annotations

from typing import Any

from apps.core.errors import PermissionDenied, SelfApprovalForbidden
from apps.signatures.actions import sign_and_do

from . import permissions, services
from .models import SOP, SOPVersion


def check_review(actor: Any, version: SOPVersion) -> None:
    """Raise unless ``actor`` may approve or reject ``version``: a reviewer who did not write it.

    Raises:
        PermissionDenied: not a reviewer.
        SelfApprovalForbidden: the actor wrote the version.
    """
    if not permissions.can_review(actor, version):
        raise PermissionDenied("Only reviewers can approve or reject versions.")
    if permissions.is_self_review(actor, version):
        raise SelfApprovalForbidden(
            f"You wrote {version}; an author can never approve or reject their own version. Ask another reviewer."
        )


def check_confirm_review(actor: Any, sop: SOP) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` may sign a periodic review of ``sop``."""
    if not permissions.can_confirm_review(actor, sop):
        raise PermissionDenied("Only the SOP's owner, reviewers and admins can confirm a periodic review.")


def approve(
    *, actor: Any, version: SOPVersion, comment: str = "", password: str | None, meaning: str | None = None
) -> SOPVersion:
    """Approve ``version``, e-signed; return it (``services.sop_version_approve``)."""
    return sign_and_do(
        actor=actor,
        action="approve",
        check=lambda: check_review(actor, version),
        password=password,
        meaning=meaning,
        do=lambda intent: services.sop_version_approve(actor=actor, version=version, comment=comment, signature=intent),
    )


def reject(
    *, actor: Any, version: SOPVersion, comment: str, password: str | None, meaning: str | None = None
) -> SOPVersion:
    """Reject ``version`` with the reason in ``comment``, e-signed; return it (``services.sop_version_reject``)."""
    return sign_and_do(
        actor=actor,
        action="reject",
        check=lambda: check_review(actor, version),
        password=password,
        meaning=meaning,
        do=lambda intent: services.sop_version_reject(actor=actor, version=version, comment=comment, signature=intent),
    )


def confirm_review(*, actor: Any, sop: SOP, comment: str = "", password: str | None, meaning: str | None = None) -> SOP:
    """Sign that ``sop``'s live version is still valid; return the SOP (``services.sop_review_confirm``)."""
    return sign_and_do(
        actor=actor,
        action="review",
        check=lambda: check_confirm_review(actor, sop),
        password=password,
        meaning=meaning,
        do=lambda intent: services.sop_review_confirm(actor=actor, sop=sop, comment=comment, signature=intent),
    )


SIGNED_REVIEW_ACTIONS = {"approve": approve, "reject": reject}
"""Review action → entry point; each takes ``actor``, ``version``, ``comment``, ``password``, ``meaning``."""
