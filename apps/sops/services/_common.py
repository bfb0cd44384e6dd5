"""Helpers shared by the SOP services: locking, state guards, audit snapshots, signing."""

from __future__ import annotations

from typing import Any

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import (
    InvalidTransition,
)
from apps.signatures.services import SignatureIntent, signature_audit_data, signature_record

from ..models import (
    SOP,
    SOPVersion,
    VersionStatus,
)
from ..workflow import Transition


def _with_history_user(instance: Any, actor: Any | None) -> Any:
    instance._history_user = actor
    return instance


def _lock_version(version: SOPVersion) -> tuple[SOP, SOPVersion]:
    """Lock the version's SOP, then the version; return both freshly read."""
    sop = SOP.objects.select_for_update(of=("self",)).select_related("category", "owner").get(pk=version.sop_id)
    locked = SOPVersion.objects.select_for_update().get(pk=version.pk)
    locked.sop = sop
    return sop, locked


def _guard_state(version: SOPVersion, transition: Transition) -> None:
    if version.status not in transition.sources:
        allowed = " or ".join(sorted(VersionStatus(s).label.lower() for s in transition.sources))
        raise InvalidTransition(
            f"Cannot {transition.action} {version}: it is {version.get_status_display().lower()}, "
            f"and only a version that is {allowed} can be {_past(transition.action)}.",
            extra={"status": version.status, "action": transition.action},
        )


def _past(action: str) -> str:
    return {
        "submit": "submitted",
        "approve": "approved",
        "reject": "rejected",
        "publish": "published",
        "rollback": "rolled back to",
        "retire": "retired",
    }[action]


def _sign(intent: SignatureIntent | None, version: SOPVersion, comment: str) -> dict[str, Any]:
    """Record the e-signature (when a person acted) and return its facts for the audit event."""
    signature = signature_record(intent=intent, version=version, comment=comment) if intent else None
    return signature_audit_data(signature)


def _version_state(version: SOPVersion) -> dict[str, Any]:
    return {"status": version.status, "number": version.number, "content_sha256": version.content_sha256}


def _move_version(
    sop: SOP,
    version: SOPVersion,
    actor: Any | None,
    status: str,
    action: AuditAction,
    *,
    reason: str = "",
    data: dict[str, Any] | None = None,
    **stamps: Any,
) -> None:
    """Put ``version`` in ``status`` with the given field values (``decided_at=…``), save it
    with ``actor`` in its history, and write the audit event with the state before and after.

    For services that hold the SOP's lock and have checked role and state.
    """
    before = _version_state(version)
    version.status = status
    for field, value in stamps.items():
        setattr(version, field, value)
    _with_history_user(version, actor).save()
    audit_record(
        actor=actor,
        action=action,
        target=version,
        sop_slug=sop.slug,
        before=before,
        after=_version_state(version),
        reason=reason,
        data=data,
    )
