"""Helpers shared by the SOP services: locking, history user, audit snapshots, signing."""

from __future__ import annotations

from typing import Any

from apps.signatures.services import SignatureIntent, signature_audit_data, signature_record

from ..models import SOP, SOPVersion


def _with_history_user(instance: Any, actor: Any | None) -> Any:
    instance._history_user = actor
    return instance


def version_lock(version: SOPVersion) -> tuple[SOP, SOPVersion]:
    """Lock the version's SOP row, then the version's; return both freshly read.

    Every service that changes a version takes the SOP's lock first, so changes to one SOP
    (and its rollouts) are serialised. Call it inside the change's transaction.
    """
    sop = SOP.objects.select_for_update(of=("self",)).select_related("category", "owner").get(pk=version.sop_id)
    locked = SOPVersion.objects.select_for_update().get(pk=version.pk)
    locked.sop = sop
    return sop, locked


def _sign(
    intent: SignatureIntent | None, version: SOPVersion, comment: str, evidence: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Record the e-signature (when a person acted) and return its facts for the audit event."""
    signature = signature_record(intent=intent, version=version, comment=comment, evidence=evidence) if intent else None
    return signature_audit_data(signature)


def version_sign(
    intent: SignatureIntent | None, version: SOPVersion, comment: str, evidence: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Record ``intent`` as an e-signature on ``version`` inside the decision's transaction, with
    the ``evidence`` the signer had before them, and return its facts for the decision's audit
    event (``{}`` for the system, ``intent=None``)."""
    return _sign(intent, version, comment, evidence)


def _version_state(version: SOPVersion) -> dict[str, Any]:
    return {"status": version.status, "number": version.number, "content_sha256": version.content_sha256}
