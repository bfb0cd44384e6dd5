"""Who may do what to SOPs and versions: the one module admin, API, UI and bridge endpoints use.

Roles are Django groups holding model permissions (``apps.accounts.roles``); these functions
combine a role's permission with ownership rules. They answer "may this person press the
button"; the version's state is checked by the services against ``workflow.TRANSITIONS``.
"""

from __future__ import annotations

from typing import Any

from .models import SOP, Review, SOPVersion
from .workflow import EDITABLE_STATES, REVIEW_ACTIONS, TRANSITIONS

PERM_ADD_SOP = "sops.add_sop"
PERM_CHANGE_SOP = "sops.change_sop"
PERM_DRAFT = "sops.add_sopversion"
PERM_EDIT_DRAFT = "sops.change_sopversion"
PERM_SUBMIT = "sops.submit_sopversion"
PERM_REVIEW = "sops.review_sopversion"
PERM_RELEASE = "sops.publish_sopversion"
PERM_VIEW_VERSION = "sops.view_sopversion"


def can_view(user: Any) -> bool:
    """Return whether ``user`` may read SOPs and versions (every role may)."""
    return bool(user.is_active and user.has_perm(PERM_VIEW_VERSION))


def can_create_sop(user: Any) -> bool:
    """Return whether ``user`` may create a new SOP (authors, admins)."""
    return bool(user.is_active and user.has_perm(PERM_ADD_SOP))


def can_change_sop(user: Any, sop: SOP) -> bool:
    """Return whether ``user`` may change an SOP's title or owner: its owner, or an admin."""
    return bool(user.is_active and user.has_perm(PERM_CHANGE_SOP) and (sop.owner_id == user.pk or user.is_superuser))


def can_draft(user: Any, sop: SOP) -> bool:
    """Return whether ``user`` may start a new draft version of ``sop`` (any author)."""
    return bool(user.is_active and user.has_perm(PERM_DRAFT))


def can_edit_draft(user: Any, version: SOPVersion) -> bool:
    """Return whether ``user`` may change the draft ``version``: only its author (or an admin)."""
    return bool(
        user.is_active and user.has_perm(PERM_EDIT_DRAFT) and (version.author_id == user.pk or user.is_superuser)
    )


def can_submit(user: Any, version: SOPVersion) -> bool:
    """Return whether ``user`` may submit ``version``: its author, or the SOP's owner (e.g. for
    an agent's proposal), holding the submit permission."""
    return bool(
        user.is_active
        and user.has_perm(PERM_SUBMIT)
        and (version.author_id == user.pk or version.sop.owner_id == user.pk or user.is_superuser)
    )


def can_review(user: Any, version: SOPVersion) -> bool:
    """Return whether ``user`` holds the reviewer role. Self-approval is refused separately."""
    return bool(user.is_active and user.has_perm(PERM_REVIEW))


def is_self_review(user: Any, version: SOPVersion) -> bool:
    """Return whether ``user`` wrote ``version`` (and so may never approve or reject it)."""
    return bool(version.author_id == user.pk)


def can_confirm_review(user: Any, sop: SOP) -> bool:
    """Return whether ``user`` may sign a periodic review of ``sop``: its owner, a reviewer, or an admin."""
    return bool(user.is_active and (sop.owner_id == user.pk or user.has_perm(PERM_REVIEW) or user.is_superuser))


def can_release(user: Any, version: SOPVersion | None = None) -> bool:
    """Return whether ``user`` holds the release-manager role (publish, roll back, retire, control
    rollouts). The release layer (``apps.releases``) decides what a release does."""
    return bool(user.is_active and user.has_perm(PERM_RELEASE))


def can_withdraw(user: Any, version: SOPVersion) -> bool:
    """Return whether ``user`` may withdraw ``version`` (discard a draft, take back a submission):
    whoever may submit it — its author, or the SOP's owner (an agent's proposal)."""
    return can_submit(user, version)


_ROLE_CHECKS = {
    "submit": can_submit,
    "withdraw": can_withdraw,
    "approve": can_review,
    "reject": can_review,
}


def allowed_actions(user: Any, version: SOPVersion) -> list[str]:
    """Return the drafting and review actions ``user`` may take on ``version`` now, in workflow
    order (``edit``, ``submit``, ``approve``, ``reject``, ``withdraw``).

    Combines the role check, the version's state (``workflow.TRANSITIONS``), the no-self-review
    rule and "one decision per reviewer". Used to show only the buttons a person may press; the
    services check again. Release actions are offered by ``apps.releases``.
    """
    actions = []
    if version.status in EDITABLE_STATES and can_edit_draft(user, version):
        actions.append("edit")
    for action in REVIEW_ACTIONS:
        transition = TRANSITIONS[action]
        if version.status not in transition.sources or not _ROLE_CHECKS[action](user, version):
            continue
        if action in ("approve", "reject"):
            if is_self_review(user, version):
                continue
            if Review.objects.filter(version=version, reviewer_id=user.pk).exists():
                continue
        actions.append(action)
    return actions


def can_add_routing_test(user: Any, sop: SOP | None = None) -> bool:
    """Return whether ``user`` may add a question to ``sop``'s routing regression set: authors
    (in the editor), reviewers and auditors (from the tool-call log)."""
    return bool(
        user.is_active
        and (user.has_perm(PERM_DRAFT) or user.has_perm(PERM_REVIEW) or user.has_perm("audit.view_auditevent"))
    )


def can_remove_routing_test(user: Any, sop: SOP | None = None) -> bool:
    """Return whether ``user`` may remove a routing test question: authors and reviewers."""
    return bool(user.is_active and (user.has_perm(PERM_DRAFT) or user.has_perm(PERM_REVIEW)))
