"""Reads of the audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditEvent


def audit_event_list() -> QuerySet[AuditEvent]:
    """Return audit events, newest first."""
    return AuditEvent.objects.order_by("-id")


def sop_trail(sop_slug: str, limit: int = 50) -> list[AuditEvent]:
    """Return the newest ``limit`` audit events about the SOP ``category/key``."""
    return list(AuditEvent.objects.filter(sop_slug=sop_slug).order_by("-id")[:limit])
