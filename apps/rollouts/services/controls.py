"""Starting a rollout and the release manager's controls: advance, pause, resume, abort, complete."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import InvalidTransition
from apps.publishing.models import PublicationCause
from apps.publishing.services import bundle_publish
from apps.sops.models import SOP, SOPVersion, VersionStatus
from apps.sops.validation import clean_reason

from ..models import ACTIVE_STATES, Rollout, RolloutState
from ..selectors import plan_for_category
from ._common import _audit, _check_release, _guard_active, _lock, _rollout_state
from .plans import plan_snapshot


def rollout_start(
    *, actor: Any | None, sop: SOP, candidate: SOPVersion, reason: str, audit_data: dict[str, Any] | None = None
) -> Rollout:
    """Start moving ``sop`` from its live version to ``candidate`` (an approved version) through
    the category's plan; the candidate becomes the canary at the first stage. Return the rollout.

    Called by ``sop_version_publish``, which holds the SOP's lock and checked role and state.
    A plan whose first stage is 100 % makes the candidate live at once.

    Raises:
        InvalidTransition: the SOP has no live version, or a rollout is already active.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("rollout_start must run inside the publish transaction")
    stable = SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).first()
    if stable is None:
        raise InvalidTransition(f"{sop.slug} has no live version to roll out from.")
    if Rollout.objects.filter(sop=sop, state__in=ACTIVE_STATES).exists():
        raise InvalidTransition(f"{sop.slug} already has a rollout in progress.")
    plan = plan_for_category(sop.category)
    stages = plan_snapshot(plan)
    now = timezone.now()
    before = {"status": candidate.status}
    candidate.status = VersionStatus.CANARY
    candidate.published_at = now
    candidate.published_by = actor
    candidate._history_user = actor  # type: ignore[attr-defined]
    candidate.save()
    rollout = Rollout.objects.create(
        sop=sop,
        stable_version=stable,
        candidate_version=candidate,
        plan_name=plan.name if plan else "immediate",
        stages=stages,
        stage_index=0,
        percentage=stages[0]["percentage"],
        started_by=actor,
        stage_started_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_PUBLISH,
        target=candidate,
        sop_slug=sop.slug,
        before=before,
        after={"status": candidate.status, "number": candidate.number, "content_sha256": candidate.content_sha256},
        reason=reason,
        data={"rollout": rollout.pk, "replaces": stable.number, **(audit_data or {})},
    )
    _audit(
        rollout,
        actor,
        AuditAction.ROLLOUT_START,
        {"state": None},
        reason,
        {"plan": rollout.plan_name, "stages": [s["percentage"] for s in stages]},
    )
    if rollout.percentage >= 100:
        _complete(rollout, actor, reason or "the plan has a single 100 % stage", {})
        return rollout
    bundle_publish(actor=actor, cause=PublicationCause.ROLLOUT_START, reason=reason, version=candidate)
    return rollout


def _complete(rollout: Rollout, actor: Any | None, reason: str, data: dict[str, Any]) -> None:
    from apps.sops.services import sop_version_make_live

    before = _rollout_state(rollout)
    sop_version_make_live(
        actor=actor,
        sop=rollout.sop,
        version=rollout.candidate_version,
        reason=reason,
        action=AuditAction.VERSION_PUBLISH,
    )
    rollout.state = RolloutState.COMPLETED
    rollout.percentage = 100
    rollout.ended_at = timezone.now()
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_COMPLETE, before, reason, data)
    bundle_publish(
        actor=actor, cause=PublicationCause.ROLLOUT_COMPLETE, reason=reason, version=rollout.candidate_version
    )


def _end_back_to_stable(
    rollout: Rollout,
    actor: Any | None,
    state: RolloutState,
    action: AuditAction,
    cause: PublicationCause,
    reason: str,
    data: dict[str, Any],
) -> None:
    before = _rollout_state(rollout)
    candidate = rollout.candidate_version
    candidate.status = VersionStatus.APPROVED
    candidate._history_user = actor  # type: ignore[attr-defined]
    candidate.save()
    rollout.state = state
    rollout.percentage = 0
    rollout.ended_at = timezone.now()
    rollout.save()
    _audit(rollout, actor, action, before, reason, data)
    bundle_publish(actor=actor, cause=cause, reason=reason, version=candidate)


def _advance(rollout: Rollout, actor: Any | None, reason: str, data: dict[str, Any]) -> None:
    if rollout.stage_index + 1 >= len(rollout.stages) or rollout.stages[rollout.stage_index + 1]["percentage"] >= 100:
        _complete(rollout, actor, reason, data)
        return
    before = _rollout_state(rollout)
    rollout.stage_index += 1
    rollout.percentage = rollout.stage["percentage"]
    rollout.stage_started_at = timezone.now()
    rollout.last_evaluation = {}
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_ADVANCE, before, reason, data)
    bundle_publish(actor=actor, cause=PublicationCause.ROLLOUT_STEP, reason=reason, version=rollout.candidate_version)


@transaction.atomic
def rollout_advance(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Move a running rollout to its next stage now, without waiting for the soak time or the
    gates; the last step completes it. Return the rollout.

    Raises:
        PermissionDenied: not a release manager. InvalidTransition: not running. InvalidInput: no reason.
    """
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "advance")
    _advance(rollout, actor, clean_reason(reason, required=True), {"manual": True})
    return rollout


@transaction.atomic
def rollout_pause(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Hold a running rollout at its stage: it stops advancing; a breached gate still rolls it
    back (safety is never paused). Return the rollout."""
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "pause")
    reason = clean_reason(reason, required=True)
    before = _rollout_state(rollout)
    rollout.state = RolloutState.PAUSED
    rollout.paused_at = timezone.now()
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_PAUSE, before, reason)
    return rollout


@transaction.atomic
def rollout_resume(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Let a paused rollout advance again; time spent paused does not count as soak time."""
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "resume")
    reason = clean_reason(reason, required=True)
    before = _rollout_state(rollout)
    now = timezone.now()
    if rollout.paused_at is not None:
        rollout.stage_started_at += now - rollout.paused_at
    rollout.state = RolloutState.RUNNING
    rollout.paused_at = None
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_RESUME, before, reason)
    return rollout


@transaction.atomic
def rollout_abort(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Stop the rollout and serve stable to everyone again; the candidate returns to approved."""
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "abort")
    _end_back_to_stable(
        rollout,
        actor,
        RolloutState.ABORTED,
        AuditAction.ROLLOUT_ABORT,
        PublicationCause.ROLLOUT_ABORT,
        clean_reason(reason, required=True),
        {},
    )
    return rollout


@transaction.atomic
def rollout_complete(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Promote the candidate to 100 % now: it becomes the live version, stable is superseded."""
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "complete")
    _complete(rollout, actor, clean_reason(reason, required=True), {"manual": True})
    return rollout


ROLLOUT_CONTROLS = {
    "advance": rollout_advance,
    "pause": rollout_pause,
    "resume": rollout_resume,
    "abort": rollout_abort,
    "complete": rollout_complete,
}
"""Control name → service; each takes ``actor``, ``rollout`` and ``reason``."""
