"""Template filters for sopgov pages: ``{% load sopgov_tags %}``."""

from __future__ import annotations

from django import template

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
