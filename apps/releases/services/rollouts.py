"""Rollouts as release decisions: start, and the release manager's controls — advance, pause,
resume, abort, complete. Advance, complete and abort change what agents are served and are
e-signed; pause and resume take a reason.

Each control locks the SOP row, then the rollout; checks the role and the state
(``apps.rollouts.permissions``); changes the versions (``sops.services.version_transition``) and
the rollout; writes the audit events in the same transaction; publishes a bundle whenever what
agents are served changes. The system's own decisions (``decisions``) use the same steps.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import InvalidTransition
from apps.publishing.models import PublicationCause
from apps.rollouts.models import ACTIVE_STATES, Rollout, RolloutPlan, RolloutState
from apps.rollouts.permissions import ROLLOUT_CONTROL_STATES
from apps.signatures.services import SignatureIntent, signature_required
from apps.sops.models import SOP, SOPVersion
from apps.sops.services import version_sign, version_transition
from apps.sops.validation import clean_reason
from apps.sops.workflow import COMPLETE_ROLLOUT, START_CANARY, WITHDRAW_CANARY

from ._common import check_release_role, lock_rollout, make_live, rollout_state
from .bundles import bundle_publish

_PAST = {"advance": "advanced", "pause": "paused", "resume": "resumed", "abort": "aborted", "complete": "completed"}


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
        after=rollout_state(rollout),
        reason=reason,
        data={"stable": rollout.stable_version.number, "candidate": rollout.candidate_version.number, **(data or {})},
    )


def _guard_control(rollout: Rollout, control: str) -> None:
    """Raise ``InvalidTransition`` unless ``control`` applies to the rollout's state."""
    states = ROLLOUT_CONTROL_STATES[control]
    if rollout.state not in states:
        allowed = " or ".join(RolloutState(s).label.lower() for s in states)
        raise InvalidTransition(
            f"Cannot {control} the rollout of {rollout.sop.slug}: it is {rollout.get_state_display().lower()}; "
            f"only a {allowed} rollout can be {_PAST[control]}.",
            extra={"state": rollout.state},
        )


def _log_stage(rollout: Rollout, now: Any) -> None:
    rollout.stage_log = [
        *rollout.stage_log,
        {"stage": rollout.stage_index, "percentage": rollout.percentage, "started_at": now.isoformat()},
    ]


def rollout_start(
    *,
    actor: Any | None,
    sop: SOP,
    candidate: SOPVersion,
    stable: SOPVersion,
    plan: RolloutPlan | None,
    stages: list[dict[str, Any]],
    reason: str,
    audit_data: dict[str, Any] | None = None,
) -> Rollout:
    """Start moving ``sop`` from ``stable`` (its live version) to ``candidate`` (approved) through
    ``stages`` (the plan's snapshot, first stage below 100 %); the candidate becomes the canary.
    Return the rollout. Audited ``version.canary_start`` (with the publisher's signature) and
    ``rollout.start``; a bundle is published.

    Called by ``release_publish``, which holds the SOP's lock and checked role, state and signature.

    Raises:
        InvalidTransition: a rollout of the SOP is already active.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("rollout_start must run inside the publish transaction")
    if Rollout.objects.filter(sop=sop, state__in=ACTIVE_STATES).exists():
        raise InvalidTransition(f"{sop.slug} already has a rollout in progress.")
    now = timezone.now()
    version_transition(
        sop=sop,
        version=candidate,
        actor=actor,
        transition=START_CANARY,
        reason=reason,
        data={"replaces": stable.number, "percentage": stages[0]["percentage"], **(audit_data or {})},
    )
    rollout = Rollout(
        sop=sop,
        stable_version=stable,
        candidate_version=candidate,
        plan_name=plan.name if plan else "default",
        stages=stages,
        stage_index=0,
        percentage=stages[0]["percentage"],
        alpha=plan.alpha if plan else 0.05,
        advance_on=plan.advance_on if plan else "no_harm",
        started_by=actor,
        stage_started_at=now,
    )
    _log_stage(rollout, now)
    rollout.save()
    rollout.candidate_version.sop = sop
    rollout.stable_version.sop = sop
    _audit(
        rollout,
        actor,
        AuditAction.ROLLOUT_START,
        {"state": None},
        reason,
        {
            "plan": rollout.plan_name,
            "stages": [s["percentage"] for s in stages],
            "alpha": rollout.alpha,
            "advance_on": rollout.advance_on,
        },
    )
    bundle_publish(actor=actor, cause=PublicationCause.ROLLOUT_START, reason=reason, version=candidate)
    return rollout


def complete(rollout: Rollout, actor: Any | None, reason: str, data: dict[str, Any]) -> None:
    """Make the candidate live for everyone (``version.rollout_complete``; stable superseded),
    end the rollout ``completed`` and publish. For services holding the rollout's lock."""
    before = rollout_state(rollout)
    make_live(
        actor=actor,
        sop=rollout.sop,
        version=rollout.candidate_version,
        transition=COMPLETE_ROLLOUT,
        reason=reason,
        data={"rollout": rollout.pk, **data},
    )
    rollout.state = RolloutState.COMPLETED
    rollout.percentage = 100
    rollout.ended_at = timezone.now()
    rollout.save()
    _audit(
        rollout,
        actor,
        AuditAction.ROLLOUT_COMPLETE,
        before,
        reason,
        {k: v for k, v in data.items() if k != "signature"},
    )
    bundle_publish(
        actor=actor, cause=PublicationCause.ROLLOUT_COMPLETE, reason=reason, version=rollout.candidate_version
    )


def withdraw(
    rollout: Rollout,
    actor: Any | None,
    state: RolloutState,
    action: AuditAction,
    cause: PublicationCause,
    reason: str,
    data: dict[str, Any],
) -> None:
    """Serve stable to everyone again: the candidate returns to approved
    (``version.canary_withdraw``), the rollout ends ``state`` (aborted or rolled back, audited
    ``action``) and a bundle is published. For services holding the rollout's lock."""
    before = rollout_state(rollout)
    version_transition(
        sop=rollout.sop,
        version=rollout.candidate_version,
        actor=actor,
        transition=WITHDRAW_CANARY,
        reason=reason,
        data={"rollout": rollout.pk, "rollout_state": state, **data},
    )
    rollout.state = state
    rollout.percentage = 0
    rollout.ended_at = timezone.now()
    rollout.save()
    _audit(rollout, actor, action, before, reason, {k: v for k, v in data.items() if k != "signature"})
    bundle_publish(actor=actor, cause=cause, reason=reason, version=rollout.candidate_version)


def advance(rollout: Rollout, actor: Any | None, reason: str, data: dict[str, Any]) -> None:
    """Move the rollout to its next stage (or complete it when that stage is 100 %) and publish."""
    if rollout.stage_index + 1 >= len(rollout.stages) or rollout.stages[rollout.stage_index + 1]["percentage"] >= 100:
        complete(rollout, actor, reason, data)
        return
    before = rollout_state(rollout)
    now = timezone.now()
    rollout.stage_index += 1
    rollout.percentage = rollout.stage["percentage"]
    rollout.stage_started_at = now
    _log_stage(rollout, now)
    rollout.last_evaluation = {}
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_ADVANCE, before, reason, data)
    bundle_publish(actor=actor, cause=PublicationCause.ROLLOUT_STEP, reason=reason, version=rollout.candidate_version)


def _begin(actor: Any, rollout: Rollout, control: str, reason: str) -> tuple[Rollout, str]:
    rollout = lock_rollout(rollout)
    check_release_role(actor, "control rollouts")
    _guard_control(rollout, control)
    return rollout, clean_reason(reason, required=True)


def _signed(
    actor: Any, rollout: Rollout, signature: SignatureIntent | None, action: str, reason: str
) -> dict[str, Any]:
    intent = signature_required(actor, signature, action)
    rollout.candidate_version.sop = rollout.sop
    return version_sign(intent, rollout.candidate_version, reason)


@transaction.atomic
def rollout_advance(*, actor: Any, rollout: Rollout, reason: str, signature: SignatureIntent | None = None) -> Rollout:
    """Move a running rollout to its next stage now, without waiting for its soak time, minimum
    outcomes or gates; the last step completes it. E-signed ("released to more conversations").
    Return the rollout.

    Raises:
        PermissionDenied: not a release manager. InvalidTransition: not running.
        InvalidInput: no reason, or no e-signature.
    """
    rollout, reason = _begin(actor, rollout, "advance", reason)
    signed = _signed(actor, rollout, signature, "rollout_advance", reason)
    advance(rollout, actor, reason, {"manual": True, **signed})
    return rollout


@transaction.atomic
def rollout_complete(*, actor: Any, rollout: Rollout, reason: str, signature: SignatureIntent | None = None) -> Rollout:
    """Promote the candidate to 100 % now: it becomes the live version, stable is superseded.
    E-signed ("released to all conversations"). Return the rollout.

    Raises:
        PermissionDenied / InvalidTransition / InvalidInput: as for ``rollout_advance``.
    """
    rollout, reason = _begin(actor, rollout, "complete", reason)
    signed = _signed(actor, rollout, signature, "rollout_complete", reason)
    complete(rollout, actor, reason, {"manual": True, **signed})
    return rollout


@transaction.atomic
def rollout_abort(*, actor: Any, rollout: Rollout, reason: str, signature: SignatureIntent | None = None) -> Rollout:
    """Stop the rollout and serve stable to everyone again; the candidate returns to approved.
    E-signed ("withdrawn"). Return the rollout.

    Raises:
        PermissionDenied / InvalidTransition / InvalidInput: as for ``rollout_advance``.
    """
    rollout, reason = _begin(actor, rollout, "abort", reason)
    signed = _signed(actor, rollout, signature, "rollout_abort", reason)
    withdraw(
        rollout, actor, RolloutState.ABORTED, AuditAction.ROLLOUT_ABORT, PublicationCause.ROLLOUT_ABORT, reason, signed
    )
    return rollout


@transaction.atomic
def rollout_pause(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Hold a running rollout at its stage: it stops advancing; harm still rolls it back (safety
    is never paused). Return the rollout."""
    rollout, reason = _begin(actor, rollout, "pause", reason)
    pause(rollout, actor, AuditAction.ROLLOUT_PAUSE, reason)
    return rollout


def pause(
    rollout: Rollout, actor: Any | None, action: AuditAction, reason: str, data: dict[str, Any] | None = None
) -> None:
    """Hold ``rollout`` at its stage, audited ``action`` (``rollout.pause`` by a person,
    ``rollout.srm`` by the system on a sample-ratio mismatch). For services holding its lock."""
    before = rollout_state(rollout)
    rollout.state = RolloutState.PAUSED
    rollout.paused_at = timezone.now()
    rollout.save()
    _audit(rollout, actor, action, before, reason, data)


@transaction.atomic
def rollout_resume(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Let a paused rollout advance again; time spent paused does not count as soak time."""
    rollout, reason = _begin(actor, rollout, "resume", reason)
    before = rollout_state(rollout)
    now = timezone.now()
    if rollout.paused_at is not None:
        rollout.stage_started_at += now - rollout.paused_at
    if rollout.stage_log:  # the served split is judged afresh from now (a person looked at it)
        rollout.stage_log = [*rollout.stage_log[:-1], {**rollout.stage_log[-1], "split_checked_from": now.isoformat()}]
    rollout.state = RolloutState.RUNNING
    rollout.paused_at = None
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_RESUME, before, reason)
    return rollout


ROLLOUT_CONTROLS = {
    "advance": rollout_advance,
    "pause": rollout_pause,
    "resume": rollout_resume,
    "abort": rollout_abort,
    "complete": rollout_complete,
}
"""Control name → service; each takes ``actor``, ``rollout`` and ``reason`` (and ``signature``
for the signed ones, ``apps.rollouts.permissions.SIGNED_CONTROLS``)."""
