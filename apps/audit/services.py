"""The one way to write an audit event, and the sealing of events into the hash chain."""

from __future__ import annotations

import logging
from typing import Any

from django.db import models, transaction

from apps.core.request_context import current_request_id

from .chain import HASHED_FIELDS, event_hash
from .models import AuditAction, AuditChainHead, AuditEvent

logger = logging.getLogger(__name__)
SYSTEM_ACTOR_LABEL = "system"
SEAL_BATCH = 2000


def audit_record(
    *,
    actor: Any | None,
    action: AuditAction,
    target: models.Model | None,
    sop_slug: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor_label: str | None = None,
    target_ref: tuple[str, str, str] | None = None,
) -> AuditEvent:
    """Write one audit event for a state change; call it inside the change's transaction.

    The event is sealed into the hash chain (``audit_seal``) as soon as the transaction
    commits; if it rolls back, the event never existed.

    Args:
        actor: the user who acted, or ``None`` for the system.
        action: what happened.
        target: the changed object; its model name and pk identify it.
        sop_slug: ``category/key`` of the SOP concerned, for per-SOP trails.
        before / after: the fields that changed, old and new values (JSON-serialisable).
        reason: the reason the actor gave.
        data: other facts worth keeping (bundle hash, counts, signature …).
        actor_label: overrides the recorded actor name (e.g. ``agent:triage-bot``).
        target_ref: ``(type, id, label)`` when the change concerns no single row (``target=None``),
            e.g. ``("toolcall", "*", "tool-call log")`` for a retention run.

    Raises:
        RuntimeError: when called outside a transaction, since an audit event must commit or
            roll back with its change.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    label = actor_label or (actor.get_username() if actor is not None else SYSTEM_ACTOR_LABEL)
    if target is not None:
        target_ref = (str(target._meta.model_name), str(target.pk), str(target))
    if target_ref is None:
        raise ValueError("audit_record needs a target or a target_ref")
    event = AuditEvent.objects.create(
        actor=actor,
        actor_label=label,
        action=action,
        target_type=target_ref[0],
        target_id=target_ref[1],
        target_label=target_ref[2][:200],
        sop_slug=sop_slug,
        category=sop_slug.split("/", 1)[0] if sop_slug else "",
        before=before,
        after=after,
        reason=reason,
        request_id=current_request_id(),
        data=data or {},
    )
    if not any(callback is _seal_after_commit for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(_seal_after_commit)
    return event


def _seal_after_commit() -> None:
    try:
        audit_seal()
    except Exception:  # the events are committed; beat's audit-seal sweep chains them later
        logger.exception("sealing audit events failed; the periodic seal will retry")


def audit_seal(batch: int = SEAL_BATCH) -> int:
    """Chain every committed, unsealed event, oldest id first; return how many were sealed.

    Runs in its own short transactions holding only the chain head's lock, so it never takes
    part in a lock cycle with the changes being audited. Called after each audited commit and
    every minute by beat (``tasks.audit_seal_pending``) in case a process died in between.
    """
    sealed = 0
    while True:
        with transaction.atomic():
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
            rows = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id").values(*HASHED_FIELDS)[:batch])
            if not rows:
                return sealed
            seq, prev = head.seq, head.hash
            for row in rows:
                seq += 1
                digest = event_hash(row, seq, prev)
                AuditEvent.objects.filter(pk=row["id"], seq__isnull=True).update(seq=seq, prev_hash=prev, hash=digest)
                prev = digest
            head.seq, head.hash = seq, prev
            head.save(update_fields=["seq", "hash", "updated_at"])
        sealed += len(rows)
