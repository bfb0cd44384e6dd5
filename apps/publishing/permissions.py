"""Who may deploy runtimes and configure publication targets."""

from __future__ import annotations

from typing import Any

PERM_DEPLOY = "publishing.deploy_publicationtarget"
PERM_CONFIGURE_TARGET = "publishing.change_publicationtarget"


def can_deploy(user: Any) -> bool:
    """Return whether ``user`` may deploy AgentCore runtimes, move their endpoints and publish a
    bundle to a target again (release managers, admins)."""
    return bool(user.is_active and user.has_perm(PERM_DEPLOY))


def can_configure_target(user: Any) -> bool:
    """Return whether ``user`` may add or change publication targets (admins)."""
    return bool(user.is_active and user.has_perm(PERM_CONFIGURE_TARGET))
