"""What the dashboard shows each person, by role: their work in drafting and review, what is
ready to release, rollouts in progress, notices of the system's decisions, what is served."""

from __future__ import annotations

from typing import Any

from apps.audit.selectors import audit_event_list
from apps.publishing.selectors import bridge_statuses, current_bundle
from apps.rollouts.models import ACTIVE_STATES
from apps.rollouts.selectors import rollout_list
from apps.sops import permissions, selectors

from .selectors import open_notices


def dashboard_context(user: Any) -> dict[str, Any]:
    """Return the dashboard's lists for ``user``: their drafts (authors), versions awaiting
    their review (reviewers), approved versions (release managers), recent audit events
    (those who may read the trail) and the current bundle. At most 20 rows per list."""
    context: dict[str, Any] = {"can_create_sop": permissions.can_create_sop(user)}
    if user.has_perm(permissions.PERM_DRAFT):
        context["my_drafts"] = list(selectors.drafts_of(user)[:20])
    if user.has_perm(permissions.PERM_REVIEW):
        context["awaiting_review"] = list(selectors.versions_awaiting_review(user)[:20])
    if user.has_perm(permissions.PERM_RELEASE):
        context["ready_to_publish"] = list(selectors.versions_ready_to_publish()[:20])
    if user.has_perm("audit.view_auditevent"):
        context["recent_events"] = list(audit_event_list()[:10])
    context["notices"] = list(open_notices(user)[:20])
    context["rollouts"] = list(rollout_list().filter(state__in=ACTIVE_STATES)[:20])
    context["bundle"] = current_bundle()
    if user.has_perm("audit.view_auditevent") or user.has_perm(permissions.PERM_REVIEW):
        context["reviews_due"] = list(selectors.reviews_due()[:20])
    else:
        context["reviews_due"] = list(selectors.reviews_due(owner=user)[:20])
    if user.has_perm("publishing.view_bridgeheartbeat"):
        context["bridges"] = bridge_statuses()[:20]
    return context
