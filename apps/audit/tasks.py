"""Audit workers: sealing stragglers into the chain, and verifying it."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def audit_seal_pending() -> int:
    """Seal events whose after-commit seal did not run (beat, every minute); return the count."""
    from .services import audit_seal

    return audit_seal()


@shared_task(ignore_result=True)
def verify_audit_chain(verification_id: int) -> str:
    """Walk the chain for a verification an auditor started; return its status."""
    from .verification import verification_run

    return verification_run(verification_id).status
