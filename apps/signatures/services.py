"""Signing: check the re-entered password, refuse and lock after repeated failures, record.

Views and the API call ``signature_verify`` with what the person typed, *outside* any
transaction (a refusal must be audited even though the action does not happen); the lifecycle
services take the resulting ``SignatureIntent`` and call ``signature_record`` inside their own
transaction, so the signature exists exactly when the decision does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditAction, AuditEvent
from apps.audit.services import audit_record
from apps.core.errors import InvalidInput, PermissionDenied
from apps.core.request_context import current_request_id

from .models import ACTION_MEANINGS, Signature, SignatureMethod


class SignatureRefused(PermissionDenied):
    """The password was wrong: nothing was signed (HTTP 403)."""

    code = "signature_refused"


class SigningLocked(PermissionDenied):
    """Too many wrong passwords: signing is locked for a while (HTTP 429)."""

    code = "signing_locked"
    http_status = 429


@dataclass(frozen=True)
class SignatureIntent:
    """A verified wish to sign: the signer passed the password check at ``verified_at``.

    Made only by ``signature_verify`` (or ``signature_for_import``); good for one action in the
    same request (``SOPGOV_SIGNATURE_MAX_AGE_SECONDS``).
    """

    signer: Any
    meaning: str
    action: str
    method: str
    verified_at: datetime
    attested_by: str = ""


def printed_name(user: Any) -> str:
    """Return the name a signature shows: ``Full Name (username)``, or the username alone."""
    full = user.get_full_name().strip()
    return f"{full} ({user.get_username()})" if full else user.get_username()


def meaning_for(action: str, meaning: str | None) -> str:
    """Return ``meaning`` checked against the action's allowed meanings (default: the first).

    Raises:
        InvalidInput: the meaning does not fit the action.
    """
    allowed = ACTION_MEANINGS.get(action)
    if not allowed:
        raise InvalidInput(f"{action!r} is not a signed action.")
    if not meaning:
        return allowed[0].value
    if meaning not in [m.value for m in allowed]:
        choices = ", ".join(m.value for m in allowed)
        raise InvalidInput(
            f"A signature on {action!r} means one of: {choices}.", field_errors={"meaning": [f"One of {choices}."]}
        )
    return meaning


def _failures_since(user: Any) -> list[datetime]:
    """Return the times of ``user``'s wrong passwords in the lockout window since their last
    successful signature, newest first."""
    window = timezone.now() - timedelta(minutes=settings.SOPGOV_SIGNING_LOCK_MINUTES)
    last_ok = Signature.objects.filter(signer=user).order_by("-signed_at").values_list("signed_at", flat=True).first()
    since = max(window, last_ok) if last_ok else window
    return list(
        AuditEvent.objects.filter(action=AuditAction.SIGNATURE_REFUSED, actor_id=user.pk, created_at__gt=since)
        .order_by("-id")
        .values_list("created_at", flat=True)
    )


def signing_locked_until(user: Any) -> datetime | None:
    """Return when ``user`` may sign again, or ``None`` if they may sign now."""
    failures = _failures_since(user)
    if len(failures) < settings.SOPGOV_SIGNING_MAX_FAILURES:
        return None
    until = failures[0] + timedelta(minutes=settings.SOPGOV_SIGNING_LOCK_MINUTES)
    return until if until > timezone.now() else None


def signature_verify(*, signer: Any, password: str, action: str, meaning: str | None = None) -> SignatureIntent:
    """Check that ``signer`` re-entered their own password to sign ``action`` with ``meaning``.

    A wrong password is audited (``signature.refused``) in its own transaction, the signer's row
    locked meanwhile so parallel attempts are checked one after another; after
    ``SOPGOV_SIGNING_MAX_FAILURES`` of them within ``SOPGOV_SIGNING_LOCK_MINUTES`` minutes
    signing is locked for that long (audited once, ``signature.locked``).

    Raises:
        InvalidInput: no password, or a meaning that does not fit the action.
        SigningLocked: too many recent failures.
        SignatureRefused: the password is wrong.
    """
    meaning = meaning_for(action, meaning)
    if not password:
        raise InvalidInput(
            "Signing needs your password.", field_errors={"password": ["Re-enter your password to sign."]}
        )
    # One attempt at a time per signer: the row lock makes "is signing locked?", the password
    # check and the failure's audit event one step, so parallel tries cannot all be checked
    # before any failure is counted (they wait, then see the count).
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=signer.pk).first()
        locked = signing_locked_until(signer)
        wrong = locked is None and not (signer.is_active and signer.check_password(password))
        failures = left = 0
        if wrong:
            audit_record(
                actor=signer,
                action=AuditAction.SIGNATURE_REFUSED,
                target=signer,
                reason=f"wrong password when signing {action!r}",
                data={"action": action, "meaning": meaning},
            )
            failures = len(_failures_since(signer))
            left = settings.SOPGOV_SIGNING_MAX_FAILURES - failures
            if left <= 0:
                audit_record(
                    actor=signer,
                    action=AuditAction.SIGNING_LOCKED,
                    target=signer,
                    reason=f"{failures} wrong passwords",
                    data={"minutes": settings.SOPGOV_SIGNING_LOCK_MINUTES},
                )
    if locked is not None:
        minutes = max(1, round((locked - timezone.now()).total_seconds() / 60))
        raise SigningLocked(
            f"Signing is locked after {settings.SOPGOV_SIGNING_MAX_FAILURES} wrong passwords; try again in about "
            f"{minutes} minute{'s' if minutes != 1 else ''}.",
            extra={"retry_after": int((locked - timezone.now()).total_seconds()) + 1},
        )
    if wrong and left <= 0:
        raise SigningLocked(
            f"Wrong password. Signing is now locked for {settings.SOPGOV_SIGNING_LOCK_MINUTES} minutes.",
            extra={"retry_after": settings.SOPGOV_SIGNING_LOCK_MINUTES * 60},
        )
    if wrong:
        raise SignatureRefused(
            f"Wrong password: nothing was signed. {left} attempt{'s' if left != 1 else ''} left before signing is locked.",
            extra={"attempts_left": left},
        )
    return SignatureIntent(
        signer=signer, meaning=meaning, action=action, method=SignatureMethod.PASSWORD, verified_at=timezone.now()
    )


def signature_for_import(*, signer: Any, action: str, attested_by: str) -> SignatureIntent:
    """Return an intent for a decision recorded by a library import (no password: the importing
    admin attests it; the signature says so)."""
    return SignatureIntent(
        signer=signer,
        meaning=meaning_for(action, None),
        action=action,
        method=SignatureMethod.IMPORT,
        verified_at=timezone.now(),
        attested_by=attested_by,
    )


def signature_required(actor: Any | None, signature: SignatureIntent | None, action: str) -> SignatureIntent | None:
    """Check the signature a lifecycle service was given for ``action`` by ``actor``.

    ``actor=None`` (the system) signs nothing and returns ``None``.

    Raises:
        InvalidInput: a person acted without a signature, or it is for another action or too old.
        PermissionDenied: the signature is someone else's.
    """
    if actor is None:
        return None
    if signature is None:
        raise InvalidInput(
            "This needs your e-signature: re-enter your password and choose what your signature means.",
            field_errors={"password": ["Required to sign."]},
        )
    if signature.signer.pk != actor.pk:
        raise PermissionDenied("A signature can only be given by the person acting.")
    if signature.action != action:
        raise InvalidInput(f"This signature was given for {signature.action!r}, not {action!r}.")
    age = (timezone.now() - signature.verified_at).total_seconds()
    if signature.method == SignatureMethod.PASSWORD and age > settings.SOPGOV_SIGNATURE_MAX_AGE_SECONDS:
        raise InvalidInput("The signature has expired; sign again.", field_errors={"password": ["Sign again."]})
    return signature


def signature_record(
    *, intent: SignatureIntent, version: Any, comment: str = "", evidence: dict[str, Any] | None = None
) -> Signature:
    """Record the signature on ``version`` (its current content hash) with the ``evidence`` the
    signer had before them (e.g. ``{"routing_check": {counts, sha256}}``); call it in the
    decision's transaction. Return it; its ``audit_data()`` goes into the decision's event."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("signature_record must run inside the transaction of the decision it signs")
    return Signature.objects.create(
        signer=intent.signer,
        signer_name=printed_name(intent.signer),
        meaning=intent.meaning,
        action=intent.action,
        method=intent.method,
        version=version,
        sop_slug=version.sop.slug,
        version_number=version.number,
        content_sha256=version.content_sha256,
        comment=comment,
        evidence=evidence or {},
        request_id=current_request_id(),
        attested_by=intent.attested_by,
    )


def signature_audit_data(signature: Signature | None) -> dict[str, Any]:
    """Return the signature's facts for the decision's audit event (empty for the system)."""
    if signature is None:
        return {}
    return {
        "signature": {
            "id": signature.pk,
            "signer": signature.signer_name,
            "meaning": signature.meaning,
            "method": signature.method,
            "signed_at": signature.signed_at.isoformat(),
            "content_sha256": signature.content_sha256,
            **({"evidence": signature.evidence} if signature.evidence else {}),
        }
    }
