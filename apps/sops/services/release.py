"""Release: signed publish, rollback and retire; making a version live."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.core.errors import (
    InvalidTransition,
    PermissionDenied,
)
from apps.publishing.models import PublicationCause
from apps.publishing.services import bundle_publish
from apps.signatures.services import SignatureIntent, signature_required

from .. import permissions
from ..models import (
    SOP,
    SOPVersion,
    VersionStatus,
)
from ..validation import clean_reason
from ..workflow import PUBLISH, RETIRE, ROLLBACK, Transition
from ._common import _guard_state, _lock_version, _move_version, _sign


def _begin_release(
    actor: Any | None, version: SOPVersion, transition: Transition, reason: str
) -> tuple[SOP, SOPVersion, str]:
    """Lock, check the release-manager role and the source state, clean the reason (required
    when the workflow table says so); return the locked SOP and version and the reason.

    ``actor=None`` is the system (an operator's command, an automatic decision); it is
    recorded as such in the audit trail. The web UI and the API always pass a person.
    """
    sop, version = _lock_version(version)
    if actor is not None and not permissions.can_release(actor, version):
        raise PermissionDenied(f"Only release managers may {transition.action.replace('rollback', 'roll back')}.")
    _guard_state(version, transition)
    return sop, version, clean_reason(reason, required=transition.needs_reason)


def sop_version_make_live(
    *,
    actor: Any | None,
    sop: SOP,
    version: SOPVersion,
    reason: str,
    action: AuditAction,
    audit_data: dict[str, Any] | None = None,
) -> SOPVersion | None:
    """Supersede the SOP's live version (if any) and make ``version`` live; return the old one.

    For callers that already hold the SOP's lock and checked permission and state: the release
    services here and the rollout services (a completed rollout). Writes the audit events; does
    not publish a bundle.
    """
    now = timezone.now()
    current = SOPVersion.objects.select_for_update().filter(sop=sop, status=VersionStatus.LIVE).first()
    if current is not None:
        _move_version(
            sop,
            current,
            actor,
            VersionStatus.SUPERSEDED,
            AuditAction.VERSION_SUPERSEDE,
            reason=reason,
            data={"replaced_by": version.number},
            ended_at=now,
        )
    sop.review_due_on = review_due_from(sop, timezone.localdate())
    sop.review_reminded_on = None
    sop.save(update_fields=["review_due_on", "review_reminded_on", "updated_at"])
    _move_version(
        sop,
        version,
        actor,
        VersionStatus.LIVE,
        action,
        reason=reason,
        published_at=now,
        published_by=actor,
        ended_at=None,
        data={
            "replaces": current.number if current else None,
            "review_due_on": sop.review_due_on.isoformat(),
            **(audit_data or {}),
        },
    )
    return current


def review_due_from(sop: SOP, start: date) -> date:
    """Return the periodic review date of a version of ``sop`` going live on ``start``: the
    category's review period later (calendar months; the 31st becomes the month's last day)."""
    from dateutil.relativedelta import relativedelta

    return start + relativedelta(months=sop.category.review_period_months)


@transaction.atomic
def sop_version_publish(
    *,
    actor: Any,
    version: SOPVersion,
    reason: str = "",
    immediate: bool = False,
    build_bundle: bool = True,
    signature: SignatureIntent | None = None,
) -> SOPVersion:
    """Publish an approved version and return it.

    When the SOP already has a live version, a rollout starts (``apps.rollouts``): the version
    becomes the canary, served to the first stage's share of conversations. When nothing is
    live, or with ``immediate=True`` (an emergency fix, audited as such), the version goes live
    for every conversation at once and the previous live version is superseded. Either way a
    new bundle is published.

    ``build_bundle=False`` is for callers that publish many versions in one transaction and
    then call ``bundle_publish`` once (library imports); it implies ``immediate``.

    Raises:
        PermissionDenied: not a release manager.
        InvalidTransition: the version is not approved, or a rollout of this SOP is running.
        InvalidInput: no e-signature (meaning "released").
    """
    sop, version, reason = _begin_release(actor, version, PUBLISH, reason)
    _refuse_during_rollout(sop, "publish another version")
    intent = signature_required(actor, signature, "publish")
    signed = _sign(intent, version, reason)
    has_live = SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).exists()
    if has_live and not immediate and build_bundle:
        from apps.rollouts.services import rollout_start

        rollout_start(actor=actor, sop=sop, candidate=version, reason=reason, audit_data=signed)
        return version
    sop_version_make_live(
        actor=actor,
        sop=sop,
        version=version,
        reason=reason + (" (immediate)" if immediate and has_live else ""),
        action=AuditAction.VERSION_PUBLISH,
        audit_data=signed,
    )
    if build_bundle:
        bundle_publish(actor=actor, cause=PublicationCause.PUBLISH, reason=reason, version=version)
    return version


def _refuse_during_rollout(sop: SOP, what: str) -> None:
    """Raise ``InvalidTransition`` if a rollout of ``sop`` is running or paused."""
    if SOPVersion.objects.filter(sop=sop, status=VersionStatus.CANARY).exists():
        raise InvalidTransition(
            f"{sop.slug} has a rollout in progress; complete or abort it before you {what}.",
            extra={"rollout_active": True},
        )


@transaction.atomic
def sop_version_rollback(
    *, actor: Any, version: SOPVersion, reason: str, signature: SignatureIntent | None = None
) -> SOPVersion:
    """Make a previously live (superseded or retired) version live again, signed; return it.

    Raises:
        InvalidInput: no reason, or no e-signature.
        PermissionDenied: not a release manager.
        InvalidTransition: the version was never live.
    """
    sop, version, reason = _begin_release(actor, version, ROLLBACK, reason)
    _refuse_during_rollout(sop, "roll back")
    intent = signature_required(actor, signature, "rollback")
    sop_version_make_live(
        actor=actor,
        sop=sop,
        version=version,
        reason=reason,
        action=AuditAction.VERSION_ROLLBACK,
        audit_data=_sign(intent, version, reason),
    )
    bundle_publish(actor=actor, cause=PublicationCause.ROLLBACK, reason=reason, version=version)
    return version


@transaction.atomic
def sop_version_retire(
    *, actor: Any, version: SOPVersion, reason: str, signature: SignatureIntent | None = None
) -> SOPVersion:
    """Stop serving the live ``version``, signed (the SOP then has no live version); return it.

    Raises:
        InvalidInput: no reason, or no e-signature.
        PermissionDenied: not a release manager.
        InvalidTransition: the version is not live.
    """
    sop, version, reason = _begin_release(actor, version, RETIRE, reason)
    _refuse_during_rollout(sop, "retire it")
    intent = signature_required(actor, signature, "retire")
    sop.review_due_on = None  # nothing live, nothing to review
    sop.save(update_fields=["review_due_on", "updated_at"])
    _move_version(
        sop,
        version,
        actor,
        VersionStatus.RETIRED,
        AuditAction.VERSION_RETIRE,
        reason=reason,
        data=_sign(intent, version, reason),
        ended_at=timezone.now(),
    )
    bundle_publish(actor=actor, cause=PublicationCause.RETIRE, reason=reason, version=version)
    return version
