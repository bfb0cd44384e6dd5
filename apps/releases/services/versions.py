"""Releasing versions: publish (with or without a rollout), roll back to an earlier version, retire."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.publishing.models import PublicationCause
from apps.rollouts.selectors import plan_for_category
from apps.rollouts.services import plan_snapshot
from apps.signatures.services import SignatureIntent, signature_required
from apps.sops.models import SOP, SOPVersion, VersionStatus
from apps.sops.services import guard_state, version_lock, version_sign, version_transition
from apps.sops.validation import clean_reason
from apps.sops.workflow import GO_LIVE, RETIRE, ROLLBACK, Transition

from ._common import check_release_role, make_live, refuse_during_rollout
from .bundles import bundle_publish
from .rollouts import rollout_start

_DOING = {
    "publish": ("publish", "publish another version"),
    "rollback": ("roll back", "roll back"),
    "retire": ("retire", "retire it"),
}


def _begin(
    actor: Any | None,
    version: SOPVersion,
    action: str,
    transition: Transition,
    reason: str,
    signature: SignatureIntent | None,
) -> tuple[SOP, SOPVersion, str, dict[str, Any]]:
    """The steps every release action starts with, in order: lock the SOP, check the role and the
    version's state, refuse during a rollout, clean the reason (required when the lifecycle table
    says so), check and record the e-signature. Return the SOP, the version, the reason and the
    signature's facts for the audit event.
    """
    doing, during = _DOING[action]
    sop, version = version_lock(version)
    check_release_role(actor, doing)
    guard_state(version, transition, verb=action)
    refuse_during_rollout(sop, during)
    reason = clean_reason(reason, required=transition.needs_reason)
    intent = signature_required(actor, signature, action)
    return sop, version, reason, version_sign(intent, version, reason)


@transaction.atomic
def release_publish(
    *,
    actor: Any | None,
    version: SOPVersion,
    reason: str = "",
    immediate: bool = False,
    build_bundle: bool = True,
    signature: SignatureIntent | None = None,
) -> SOPVersion:
    """Publish an approved version (e-signed, meaning "released") and return it.

    When the SOP has a live version, a rollout starts through the category's plan: the version
    becomes the canary, served to the first stage's share of conversations (audited
    ``version.canary_start`` and ``rollout.start``). When nothing is live, with
    ``immediate=True`` (an emergency fix) or when the plan's only stage is 100 %, it goes live for
    every conversation at once (``version.go_live``; the live version ``version.supersede``).
    Either way a new bundle is published. ``build_bundle=False`` is for callers that publish many
    versions in one transaction and then publish one bundle (library imports); it implies
    ``immediate``. ``actor=None`` is the system (an operator's command), which signs nothing.

    Raises:
        PermissionDenied: not a release manager.
        InvalidTransition: the version is not approved, or a rollout of this SOP is running.
        InvalidInput: no e-signature.
    """
    sop, version, reason, signed = _begin(actor, version, "publish", GO_LIVE, reason, signature)
    live = SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).first()
    plan = plan_for_category(sop.category)
    stages = plan_snapshot(plan)
    if live is not None and not immediate and build_bundle and stages[0]["percentage"] < 100:
        rollout_start(
            actor=actor,
            sop=sop,
            candidate=version,
            stable=live,
            plan=plan,
            stages=stages,
            reason=reason,
            audit_data=signed,
        )
        return version
    why = (
        "first version"
        if live is None
        else "immediate (rollout skipped)"
        if immediate or not build_bundle
        else (f"plan {plan.name if plan else 'default'} has a single 100 % stage")
    )
    make_live(actor=actor, sop=sop, version=version, transition=GO_LIVE, reason=reason, data={"release": why, **signed})
    if build_bundle:
        bundle_publish(actor=actor, cause=PublicationCause.PUBLISH, reason=reason, version=version)
    return version


@transaction.atomic
def release_rollback(
    *, actor: Any | None, version: SOPVersion, reason: str, signature: SignatureIntent | None = None
) -> SOPVersion:
    """Make a previously live (superseded or retired) version live again, e-signed ("released
    again"); return it. Audited ``version.rollback`` (and ``version.supersede`` of the live one).

    Raises:
        InvalidInput: no reason, or no e-signature.
        PermissionDenied: not a release manager.
        InvalidTransition: the version was never live, or a rollout of this SOP is running.
    """
    sop, version = version_lock(version)
    check_release_role(actor, "roll back")
    guard_state(version, ROLLBACK, verb="rollback")
    refuse_during_rollout(sop, "roll back")
    reason = clean_reason(reason, required=True)
    intent = signature_required(actor, signature, "rollback")
    make_live(
        actor=actor,
        sop=sop,
        version=version,
        transition=ROLLBACK,
        reason=reason,
        data=version_sign(intent, version, reason),
    )
    bundle_publish(actor=actor, cause=PublicationCause.ROLLBACK, reason=reason, version=version)
    return version


@transaction.atomic
def release_retire(
    *, actor: Any | None, version: SOPVersion, reason: str, signature: SignatureIntent | None = None
) -> SOPVersion:
    """Stop serving the live ``version``, e-signed ("retired"): the SOP then has no live version.
    Return it. Audited ``version.retire``.

    Raises:
        InvalidInput: no reason, or no e-signature.
        PermissionDenied: not a release manager.
        InvalidTransition: the version is not live, or a rollout of this SOP is running.
    """
    sop, version, reason, signed = _begin(actor, version, "retire", RETIRE, reason, signature)
    sop.review_due_on = None  # nothing live, nothing to review
    sop.save(update_fields=["review_due_on", "updated_at"])
    version_transition(
        sop=sop,
        version=version,
        actor=actor,
        transition=RETIRE,
        reason=reason,
        data=signed,
        ended_at=timezone.now(),
    )
    bundle_publish(actor=actor, cause=PublicationCause.RETIRE, reason=reason, version=version)
    return version
