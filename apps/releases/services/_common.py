"""Helpers shared by the release services: locking, role and state checks, making a version live."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from apps.core.errors import InvalidTransition, PermissionDenied
from apps.rollouts.models import Rollout
from apps.sops.models import SOP, SOPVersion, VersionStatus
from apps.sops.permissions import can_release
from apps.sops.services import review_due_from, version_transition
from apps.sops.workflow import SUPERSEDE, Transition


def check_release_role(actor: Any | None, doing: str) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` is the system (``None``) or a release manager."""
    if actor is not None and not can_release(actor):
        raise PermissionDenied(f"Only release managers may {doing}.")


def refuse_during_rollout(sop: SOP, what: str) -> None:
    """Raise ``InvalidTransition`` if a rollout of ``sop`` is running or paused."""
    if SOPVersion.objects.filter(sop=sop, status=VersionStatus.CANARY).exists():
        raise InvalidTransition(
            f"{sop.slug} has a rollout in progress; complete or abort it before you {what}.",
            extra={"rollout_active": True},
        )


def lock_rollout(rollout: Rollout) -> Rollout:
    """Lock the rollout's SOP, then the rollout; return it freshly read with SOP and versions."""
    SOP.objects.select_for_update(of=("self",)).get(pk=rollout.sop_id)
    return (
        Rollout.objects.select_for_update(of=("self",))
        .select_related("sop__category", "sop__owner", "stable_version", "candidate_version")
        .get(pk=rollout.pk)
    )


def make_live(
    *,
    actor: Any | None,
    sop: SOP,
    version: SOPVersion,
    transition: Transition,
    reason: str,
    data: dict[str, Any] | None = None,
) -> SOPVersion | None:
    """Supersede the SOP's live version (if any) and move ``version`` live along ``transition``
    (go live, rollout completed, rolled back to); set the SOP's next periodic review. Return the
    version that was live before, or ``None``.

    For services holding the SOP's lock. Each version's change is one audit event; no bundle
    is published here.
    """
    now = timezone.now()
    current = SOPVersion.objects.select_for_update().filter(sop=sop, status=VersionStatus.LIVE).first()
    if current is not None:
        current.sop = sop
        version_transition(
            sop=sop,
            version=current,
            actor=actor,
            transition=SUPERSEDE,
            reason=reason,
            data={"replaced_by": version.number},
            ended_at=now,
        )
    sop.review_due_on = review_due_from(sop, timezone.localdate())
    sop.review_reminded_on = None
    sop.save(update_fields=["review_due_on", "review_reminded_on", "updated_at"])
    version_transition(
        sop=sop,
        version=version,
        actor=actor,
        transition=transition,
        reason=reason,
        data={
            "replaces": current.number if current else None,
            "review_due_on": sop.review_due_on.isoformat(),
            **(data or {}),
        },
        published_at=now,
        published_by=actor,
        ended_at=None,
    )
    return current


def rollout_state(rollout: Rollout) -> dict[str, Any]:
    """Return the rollout's state as an audit event records it before and after."""
    return {"state": rollout.state, "stage": rollout.stage_index, "percentage": rollout.percentage}
