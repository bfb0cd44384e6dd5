"""Every write to categories, SOPs, versions and reviews (one module per concern).

Each service: locks the SOP row (so transitions on one SOP are serialised), checks the role
(``permissions``) and the state (``workflow``), changes the rows, writes the audit event in the
same transaction and queues side effects on commit. Views, the API, the admin, commands and the
bridge endpoints call these and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

from ..models import SOPVersion
from .categories import category_create, category_update
from .decisions import sop_version_approve, sop_version_reject, sop_version_submit
from .drafts import sop_version_create, sop_version_edit
from .periodic_review import REMIND_DAYS_BEFORE, REMIND_EVERY_DAYS, sop_review_confirm, sop_reviews_remind
from .release import (
    review_due_from,
    sop_version_make_live,
    sop_version_publish,
    sop_version_retire,
    sop_version_rollback,
)
from .sops import sop_create, sop_update

SIGNED_ACTIONS = ("approve", "reject", "publish", "rollback", "retire")
"""Transitions a person must e-sign (the system, ``actor=None``, signs nothing)."""

TRANSITION_SERVICES: dict[str, Callable[..., SOPVersion]] = {
    "submit": sop_version_submit,
    "approve": sop_version_approve,
    "reject": sop_version_reject,
    "publish": sop_version_publish,
    "rollback": sop_version_rollback,
    "retire": sop_version_retire,
}
"""Action name → service; every service takes ``actor`` and ``version`` plus its text argument
(and ``signature`` for ``SIGNED_ACTIONS``)."""

__all__ = [
    "REMIND_DAYS_BEFORE",
    "REMIND_EVERY_DAYS",
    "SIGNED_ACTIONS",
    "TRANSITION_SERVICES",
    "category_create",
    "category_update",
    "review_due_from",
    "sop_create",
    "sop_review_confirm",
    "sop_reviews_remind",
    "sop_update",
    "sop_version_approve",
    "sop_version_create",
    "sop_version_edit",
    "sop_version_make_live",
    "sop_version_publish",
    "sop_version_reject",
    "sop_version_retire",
    "sop_version_rollback",
    "sop_version_submit",
]
