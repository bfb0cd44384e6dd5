"""What an agent token may do: its scopes."""

from __future__ import annotations

from typing import Any

SCOPE_READ = "sop:read"
SCOPE_PROPOSE = "sop:propose"
SCOPE_REPORT = "sop:report"
SCOPE_BRIDGE = "bridge:sync"
AGENT_SCOPES = (SCOPE_READ, SCOPE_PROPOSE, SCOPE_REPORT, SCOPE_BRIDGE)


def agent_has_scope(token: Any, scope: str) -> bool:
    """Return whether the agent ``token`` is active and carries ``scope`` (e.g. ``sop:propose``)."""
    return bool(token.is_active and scope in token.scopes)
