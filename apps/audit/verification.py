"""Walking the audit hash chain to prove nothing was changed, removed or reordered."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .chain import GENESIS_HASH, HASHED_FIELDS, event_hash
from .models import AuditAction, AuditChainHead, AuditEvent, AuditVerification, VerificationStatus

UNSEALED_GRACE = timedelta(minutes=5)
"""Events wait for their seal for milliseconds; one unsealed for longer is reported."""
CHUNK = 5000


@dataclass
class ChainReport:
    """The outcome of a walk: ``intact`` when every link holds and the head matches.

    ``first_break`` is ``{"seq", "event_id", "problem"}`` of the first broken link, ``None``
    when intact. ``unsealed`` counts events older than ``UNSEALED_GRACE`` not yet chained
    (reported, not a break: the periodic seal chains them). ``seconds`` is wall time.
    """

    intact: bool
    checked: int
    head_seq: int
    head_hash: str
    unsealed: int = 0
    first_break: dict[str, Any] | None = None
    seconds: float = 0.0


def _break(seq: int, event_id: int | None, problem: str) -> dict[str, Any]:
    return {"seq": seq, "event_id": event_id, "problem": problem}


def audit_chain_walk(
    *, progress: Callable[[int, int], None] | None = None, anchor: tuple[int, str] | None = None
) -> ChainReport:
    """Recompute every sealed event's hash in ``seq`` order and check the links.

    Detects: an event whose content changed after sealing (its hash no longer matches), an
    event removed from the middle (a gap in ``seq``, or ``prev_hash`` not the previous hash),
    events removed from the end (the head records a later ``seq``), and — with ``anchor``
    ``(seq, hash)`` noted down earlier, e.g. from a previous run's output — a chain rewritten
    wholesale. Streams rows (constant memory); ``progress(checked, total)`` every chunk.
    """
    started = time.monotonic()
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    total = head_seq
    expected_seq, expected_prev = 1, GENESIS_HASH
    checked = 0
    found_break: dict[str, Any] | None = None
    rows = (
        AuditEvent.objects.filter(
            seq__isnull=False, seq__lte=head_seq
        )  # events sealed meanwhile wait for the next walk
        .order_by("seq")
        .values_list("seq", "prev_hash", "hash", *HASHED_FIELDS)
        .iterator(chunk_size=CHUNK)
    )
    for seq, prev_hash, stored_hash, *values in rows:
        fields = dict(zip(HASHED_FIELDS, values, strict=True))
        if seq != expected_seq:
            found_break = _break(expected_seq, None, f"events {expected_seq}–{seq - 1} are missing (deleted?)")
            break
        if prev_hash != expected_prev:
            found_break = _break(
                seq,
                fields["id"],
                "its link to the previous event does not match (the previous event was changed or replaced)",
            )
            break
        if event_hash(fields, seq, prev_hash) != stored_hash:
            found_break = _break(seq, fields["id"], "its content was changed after it was sealed")
            break
        expected_seq, expected_prev = seq + 1, stored_hash
        checked += 1
        if anchor and seq == anchor[0] and stored_hash != anchor[1]:
            found_break = _break(seq, fields["id"], f"it does not match the anchor noted earlier ({anchor[1][:16]}…)")
            break
        if progress and checked % CHUNK == 0:
            progress(checked, total)
    if found_break is None and (checked != head_seq or expected_prev != head_hash):
        found_break = _break(
            checked + 1,
            None,
            f"the chain ends at {checked} but its head records {head_seq} events (events removed from the end?)",
        )
    if found_break is None and anchor and anchor[0] > checked:
        found_break = _break(anchor[0], None, "the anchor noted earlier is past the end of the chain")
    unsealed = AuditEvent.objects.filter(seq__isnull=True, created_at__lt=timezone.now() - UNSEALED_GRACE).count()
    return ChainReport(
        intact=found_break is None,
        checked=checked,
        head_seq=head_seq,
        head_hash=head_hash,
        unsealed=unsealed,
        first_break=found_break,
        seconds=time.monotonic() - started,
    )


def verification_start(*, actor: Any | None) -> AuditVerification:
    """Record a verification and have a worker walk the chain after commit; return it."""
    from apps.core.tasks import enqueue_on_commit

    from .tasks import verify_audit_chain

    with transaction.atomic():
        verification = AuditVerification.objects.create(requested_by=actor)
        enqueue_on_commit(verify_audit_chain, verification.pk)
    return verification


def verification_run(verification_id: int, *, anchor: tuple[int, str] | None = None) -> AuditVerification:
    """Walk the chain for a recorded verification, storing progress; record the outcome as an
    audit event (itself chained) and return the verification."""
    from .services import audit_record

    verification = AuditVerification.objects.select_related("requested_by").get(pk=verification_id)

    def progress(checked: int, total: int) -> None:
        AuditVerification.objects.filter(pk=verification_id).update(checked=checked, total=total)

    try:
        report = audit_chain_walk(progress=progress, anchor=anchor)
    except Exception as exc:
        verification.status, verification.error = VerificationStatus.FAILED, str(exc)[:2000]
        verification.finished_at = timezone.now()
        verification.save()
        raise
    verification.status = VerificationStatus.INTACT if report.intact else VerificationStatus.BROKEN
    verification.checked, verification.total = report.checked, report.head_seq
    verification.head_seq, verification.head_hash = report.head_seq, report.head_hash
    verification.unsealed, verification.first_break = report.unsealed, report.first_break
    verification.finished_at = timezone.now()
    with transaction.atomic():
        verification.save()
        audit_record(
            actor=verification.requested_by,
            action=AuditAction.AUDIT_VERIFY,
            target=verification,
            after={
                "status": verification.status,
                "checked": report.checked,
                "head_seq": report.head_seq,
                "head_hash": report.head_hash,
            },
            data={"first_break": report.first_break, "unsealed": report.unsealed, "seconds": round(report.seconds, 3)},
        )
    return verification
