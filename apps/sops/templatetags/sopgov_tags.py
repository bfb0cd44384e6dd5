"""Template filters for sopgov pages: ``{% load sopgov_tags %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.db import DatabaseError

from apps.sops import permissions, selectors
from apps.sops.models import VersionStatus

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    """A version status value (``"in_review"``) as people read it (``"In review"``); unknown
    values are returned unchanged (old audit events may name states since renamed)."""
    try:
        return str(VersionStatus(value).label)
    except ValueError:
        return value


@register.filter
def duration(seconds: float | int | None) -> str:
    """Seconds as people read a duration: ``45 s``, ``12 min``, ``2 h``, ``2 h 30 min``, ``3 d 4 h``;
    ``—`` for ``None``."""
    if seconds is None:
        return "—"
    s = round(float(seconds))
    if s < 60:
        return f"{s} s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


@register.filter
def percent(rate: float | None, digits: int = 1) -> str:
    """A rate in [0, 1] as a percentage (``0.052`` → ``5.2 %``); ``—`` for ``None``."""
    if rate is None:
        return "—"
    return f"{float(rate) * 100:.{int(digits)}f} %"


@register.filter
def times(ratio: float | None, digits: int = 2) -> str:
    """A ratio as a multiple (``1.3`` → ``1.30×``); ``∞`` for ``None`` (unbounded)."""
    if ratio is None:
        return "∞"
    return f"{float(ratio):.{int(digits)}f}×"


@register.simple_tag
def review_queue_count(user: Any) -> int:
    """How many versions wait for ``user``'s review decision (the navigation's "To review" count);
    0 for anyone who is not a reviewer, and while the database does not answer (the page that
    says so still renders)."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(permissions.PERM_REVIEW):
        return 0
    try:
        return selectors.versions_awaiting_review(user).count()
    except DatabaseError:
        return 0
