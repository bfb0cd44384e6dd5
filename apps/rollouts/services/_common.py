"""Helpers shared by the rollout controls and the automatic evaluation: locking, role and
state checks, and the audit event of a rollout change."""

from __future__ import annotations

from typing import Any

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import InvalidTransition, PermissionDenied
from apps.sops import permissions
from apps.sops.models import SOP

from ..models import Rollout, RolloutState


def _rollout_state(rollout: Rollout) -> dict[str, Any]:
    return {"state": rollout.state, "stage": rollout.stage_index, "percentage": rollout.percentage}


def _check_release(actor: Any | None, rollout: Rollout) -> None:
    if actor is not None and not permissions.can_control_rollout(actor, rollout):
        raise PermissionDenied("Only release managers may control rollouts.")


def _lock(rollout: Rollout) -> Rollout:
    """Lock the rollout's SOP, then the rollout; return it freshly read."""
    SOP.objects.select_for_update(of=("self",)).get(pk=rollout.sop_id)
    return (
        Rollout.objects.select_for_update(of=("self",))
        .select_related("sop__category", "stable_version", "candidate_version")
        .get(pk=rollout.pk)
    )


_PAST = {"advance": "advanced", "pause": "paused", "resume": "resumed", "abort": "aborted", "complete": "completed"}


def _guard_active(rollout: Rollout, action: str) -> None:
    """Raise ``InvalidTransition`` unless ``action`` applies to the rollout's state
    (``permissions.ROLLOUT_CONTROL_STATES``)."""
    states = permissions.ROLLOUT_CONTROL_STATES[action]
    if rollout.state not in states:
        allowed = " or ".join(RolloutState(s).label.lower() for s in states)
        raise InvalidTransition(
            f"Cannot {action} the rollout of {rollout.sop.slug}: it is {rollout.get_state_display().lower()}; "
            f"only a {allowed} rollout can be {_PAST[action]}.",
            extra={"state": rollout.state},
        )


def _audit(
    rollout: Rollout,
    actor: Any | None,
    action: AuditAction,
    before: dict[str, Any],
    reason: str,
    data: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=rollout,
        sop_slug=rollout.sop.slug,
        before=before,
        after=_rollout_state(rollout),
        reason=reason,
        data={"stable": rollout.stable_version.number, "candidate": rollout.candidate_version.number, **(data or {})},
    )
