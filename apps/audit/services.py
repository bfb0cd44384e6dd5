"""The one way to write an audit event."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from apps.core.request_context import current_request_id

from .models import AuditAction, AuditEvent

SYSTEM_ACTOR_LABEL = "system"


def audit_record(
    *,
    actor: Any | None,
    action: AuditAction,
    target: models.Model,
    sop_slug: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Write one audit event for a state change; call it inside the change's transaction.

    Args:
        actor: the user who acted, or ``None`` for the system.
        action: what happened.
        target: the changed object; its model name and pk identify it.
        sop_slug: ``category/key`` of the SOP concerned, for per-SOP trails.
        before / after: the fields that changed, old and new values (JSON-serialisable).
        reason: the reason the actor gave.
        data: other facts worth keeping (bundle hash, counts, ...).
        actor_label: overrides the recorded actor name (e.g. ``agent:triage-bot``).

    Raises:
        RuntimeError: when called outside a transaction, since an audit event must commit or
            roll back with its change.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    label = actor_label or (actor.get_username() if actor is not None else SYSTEM_ACTOR_LABEL)
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=label,
        action=action,
        target_type=str(target._meta.model_name),
        target_id=str(target.pk),
        target_label=str(target)[:200],
        sop_slug=sop_slug,
        before=before,
        after=after,
        reason=reason,
        request_id=current_request_id(),
        data=data or {},
    )
