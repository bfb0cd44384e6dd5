"""Who may control a rollout, and which controls apply to which rollout state.

The release layer's services check these; the pages and the API show only the controls a
person may press. Release managers hold ``sops.publish_sopversion`` (``apps.accounts.roles``).
"""

from __future__ import annotations

from typing import Any

from apps.sops.permissions import PERM_RELEASE

ROLLOUT_CONTROL_STATES = {
    "advance": ("running",),
    "pause": ("running",),
    "resume": ("paused",),
    "abort": ("running", "paused"),
    "complete": ("running", "paused"),
}
"""Which rollout states each control applies to (the services guard on the same table)."""

SIGNED_CONTROLS = ("advance", "complete", "abort")
"""Controls that change what agents are served: each is an e-signature."""


def can_control_rollout(user: Any, rollout: Any = None) -> bool:
    """Return whether ``user`` may advance, pause, resume, abort or complete rollouts (release managers)."""
    return bool(user.is_active and user.has_perm(PERM_RELEASE))


def allowed_rollout_controls(user: Any, rollout: Any) -> list[str]:
    """Return the controls ``user`` may press on ``rollout`` now."""
    if not can_control_rollout(user, rollout):
        return []
    return [name for name, states in ROLLOUT_CONTROL_STATES.items() if rollout.state in states]


def can_edit_plans(user: Any) -> bool:
    """Return whether ``user`` may change rollout plans (release managers, admins)."""
    return bool(user.is_active and user.has_perm("rollouts.change_rolloutplan"))
