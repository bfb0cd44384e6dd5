"""Who may do what to SOPs and versions: the one module admin, API, UI and bridge endpoints use.

Roles are Django groups holding model permissions (``apps.accounts.roles``); these functions
combine a role's permission with ownership rules. They answer "may this person press the
button"; the version's state is checked by the services against ``workflow.TRANSITIONS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import SOP, Review, SOPVersion
from .workflow import EDITABLE_STATES, TRANSITIONS

if TYPE_CHECKING:
    from apps.agents.models import AgentToken

PERM_ADD_SOP = "sops.add_sop"
PERM_CHANGE_SOP = "sops.change_sop"
PERM_DRAFT = "sops.add_sopversion"
PERM_EDIT_DRAFT = "sops.change_sopversion"
PERM_SUBMIT = "sops.submit_sopversion"
PERM_REVIEW = "sops.review_sopversion"
PERM_RELEASE = "sops.publish_sopversion"
PERM_VIEW_VERSION = "sops.view_sopversion"

SCOPE_READ = "sop:read"
SCOPE_PROPOSE = "sop:propose"
SCOPE_REPORT = "sop:report"
SCOPE_BRIDGE = "bridge:sync"
AGENT_SCOPES = (SCOPE_READ, SCOPE_PROPOSE, SCOPE_REPORT, SCOPE_BRIDGE)


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


def can_release(user: Any, version: SOPVersion) -> bool:
    """Return whether ``user`` may publish, roll back to, or retire ``version`` (release managers)."""
    return bool(user.is_active and user.has_perm(PERM_RELEASE))


_ROLE_CHECKS = {
    "submit": can_submit,
    "approve": can_review,
    "reject": can_review,
    "publish": can_release,
    "rollback": can_release,
    "retire": can_release,
}


def allowed_actions(user: Any, version: SOPVersion) -> list[str]:
    """Return the actions ``user`` may take on ``version`` now, in workflow order.

    Combines the role check, the version's state (``workflow.TRANSITIONS``), the no-self-review
    rule and "one decision per reviewer". ``"edit"`` is included for a draft its author may edit.
    Used to show only the buttons a person may press; the services check again.
    """
    actions = []
    if version.status in EDITABLE_STATES and can_edit_draft(user, version):
        actions.append("edit")
    for action, transition in TRANSITIONS.items():
        if version.status not in transition.sources or not _ROLE_CHECKS[action](user, version):
            continue
        if action in ("approve", "reject"):
            if is_self_review(user, version):
                continue
            if Review.objects.filter(version=version, reviewer_id=user.pk).exists():
                continue
        actions.append(action)
    return actions


ROLLOUT_CONTROL_STATES = {
    "advance": ("running",),
    "pause": ("running",),
    "resume": ("paused",),
    "abort": ("running", "paused"),
    "complete": ("running", "paused"),
}
"""Which rollout states each control applies to (the services guard on the same table)."""


def can_control_rollout(user: Any, rollout: Any) -> bool:
    """Return whether ``user`` may advance, pause, resume, abort or complete a rollout (release managers)."""
    return can_release(user, rollout.candidate_version)


def allowed_rollout_controls(user: Any, rollout: Any) -> list[str]:
    """Return the controls ``user`` may press on ``rollout`` now."""
    if not can_control_rollout(user, rollout):
        return []
    return [name for name, states in ROLLOUT_CONTROL_STATES.items() if rollout.state in states]


def agent_has_scope(token: AgentToken, scope: str) -> bool:
    """Return whether the agent ``token`` is active and carries ``scope`` (e.g. ``sop:propose``)."""
    return bool(token.is_active and scope in token.scopes)


PERM_DEPLOY = "publishing.deploy_publicationtarget"
PERM_CONFIGURE_TARGET = "publishing.change_publicationtarget"


def can_deploy(user: Any) -> bool:
    """Return whether ``user`` may deploy AgentCore runtimes, move their endpoints and publish a
    bundle to a target again (release managers, admins)."""
    return bool(user.is_active and user.has_perm(PERM_DEPLOY))


def can_configure_target(user: Any) -> bool:
    """Return whether ``user`` may add or change publication targets (admins)."""
    return bool(user.is_active and user.has_perm(PERM_CONFIGURE_TARGET))
