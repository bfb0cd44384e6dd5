"""Every write to categories, SOPs, drafts and reviews (one module per concern).

Each service: locks the SOP row (so changes to one SOP are serialised), checks the role
(``permissions``) and the state (``workflow``), changes the rows, writes the audit event in the
same transaction and queues side effects on commit. A version's status is written by
``version_transition`` alone. Release decisions — what agents are served — are not here but in
``apps.releases``, which calls ``version_lock`` and ``version_transition``.
"""

from __future__ import annotations

from ._common import version_lock, version_sign
from .categories import category_create, category_update
from .decisions import sop_version_approve, sop_version_reject, sop_version_submit, sop_version_withdraw
from .drafts import sop_version_create, sop_version_edit
from .periodic_review import (
    REMIND_DAYS_BEFORE,
    REMIND_EVERY_DAYS,
    review_due_from,
    sop_review_confirm,
    sop_reviews_remind,
)
from .routing_checks import (
    check_routing_policy,
    latest_routing_check,
    routing_check_request,
    routing_check_run,
    routing_evidence,
    routing_test_add,
    routing_test_remove,
)
from .sops import sop_create, sop_update
from .status import guard_state, version_transition

__all__ = [
    "REMIND_DAYS_BEFORE",
    "REMIND_EVERY_DAYS",
    "category_create",
    "category_update",
    "check_routing_policy",
    "guard_state",
    "latest_routing_check",
    "review_due_from",
    "routing_check_request",
    "routing_check_run",
    "routing_evidence",
    "routing_test_add",
    "routing_test_remove",
    "sop_create",
    "sop_review_confirm",
    "sop_reviews_remind",
    "sop_update",
    "sop_version_approve",
    "sop_version_create",
    "sop_version_edit",
    "sop_version_reject",
    "sop_version_submit",
    "sop_version_withdraw",
    "version_lock",
    "version_sign",
    "version_transition",
]
