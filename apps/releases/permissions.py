"""Who may release, and which release actions a version offers now.

Release managers hold ``sops.publish_sopversion`` (``apps.accounts.roles``); the states each
action starts from are the lifecycle table's (``apps.sops.workflow``).
"""

from __future__ import annotations

from typing import Any

from apps.rollouts.permissions import allowed_rollout_controls, can_control_rollout
from apps.sops.models import SOPVersion
from apps.sops.permissions import can_release
from apps.sops.workflow import GO_LIVE, RETIRE, ROLLBACK

RELEASE_ACTIONS = {"publish": GO_LIVE, "rollback": ROLLBACK, "retire": RETIRE}
"""Release action → the lifecycle transition whose source states it starts from (publish may
instead start a canary: same sources)."""


def allowed_release_actions(user: Any, version: SOPVersion) -> list[str]:
    """Return the release actions (``publish``, ``rollback``, ``retire``) ``user`` may press on
    ``version`` now; the services check again."""
    if not can_release(user, version):
        return []
    return [name for name, transition in RELEASE_ACTIONS.items() if version.status in transition.sources]


__all__ = [
    "RELEASE_ACTIONS",
    "allowed_release_actions",
    "allowed_rollout_controls",
    "can_control_rollout",
    "can_release",
]
