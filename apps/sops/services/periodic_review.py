"""Periodic review: signed confirmations that a live SOP is still valid, and reminders."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import (
    InvalidTransition,
    PermissionDenied,
)
from apps.core.tasks import enqueue_on_commit
from apps.signatures.services import SignatureIntent, signature_required

from .. import permissions
from ..models import (
    SOP,
    SOPVersion,
    VersionStatus,
)
from ..validation import clean_reason
from ._common import _sign, _with_history_user


def review_due_from(sop: SOP, start: date) -> date:
    """Return the periodic review date of a version of ``sop`` going live on ``start``: the
    category's review period later (calendar months; the 31st becomes the month's last day)."""
    from dateutil.relativedelta import relativedelta

    return start + relativedelta(months=sop.category.review_period_months)


@transaction.atomic
def sop_review_confirm(*, actor: Any, sop: SOP, comment: str = "", signature: SignatureIntent | None = None) -> SOP:
    """Record a signed periodic review: the live version is still valid. The next review is due
    one review period from today. Return the SOP.

    (The other outcome of a review, a revision, is a new draft: ``sop_version_create``.)

    Raises:
        PermissionDenied: not the owner, a reviewer or an admin.
        InvalidTransition: nothing is live.
        InvalidInput: no e-signature (meaning "review_confirmed").
    """
    sop = SOP.objects.select_for_update(of=("self",)).select_related("category", "owner").get(pk=sop.pk)
    if actor is not None and not permissions.can_confirm_review(actor, sop):
        raise PermissionDenied("Only the SOP's owner, reviewers and admins can confirm a periodic review.")
    live = SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).first()
    if live is None:
        raise InvalidTransition(f"{sop.slug} has no live version to review.")
    comment = clean_reason(comment, required=False, field="comment")
    intent = signature_required(actor, signature, "review")
    before = {"review_due_on": sop.review_due_on.isoformat() if sop.review_due_on else None}
    live.sop = sop
    signed = _sign(intent, live, comment)
    sop.last_reviewed_at = timezone.now()
    sop.review_due_on = review_due_from(sop, timezone.localdate())
    sop.review_reminded_on = None
    _with_history_user(sop, actor).save()
    audit_record(
        actor=actor,
        action=AuditAction.SOP_REVIEW,
        target=sop,
        sop_slug=sop.slug,
        before=before,
        after={"review_due_on": sop.review_due_on.isoformat()},
        reason=comment,
        data={"version": live.number, "content_sha256": live.content_sha256, **signed},
    )
    return sop


REMIND_DAYS_BEFORE = 14
REMIND_EVERY_DAYS = 7


def sop_reviews_remind(today: date | None = None) -> list[int]:
    """Remind owners of SOPs whose periodic review is due within two weeks or overdue, at most
    once a week per SOP: mark the SOP, audit it (system) and e-mail the owner after commit.
    Return the ids of the SOPs reminded. Run daily by beat (``tasks.reviews_remind``)."""
    from datetime import timedelta

    from django.db.models import Q

    from ..tasks import notify_review_due

    today = today or timezone.localdate()
    due = SOP.objects.filter(review_due_on__lte=today + timedelta(days=REMIND_DAYS_BEFORE)).filter(
        Q(review_reminded_on__isnull=True) | Q(review_reminded_on__lte=today - timedelta(days=REMIND_EVERY_DAYS))
    )
    reminded = []
    for sop_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            sop = SOP.objects.select_for_update(of=("self",)).select_related("category").get(pk=sop_id)
            sop.review_reminded_on = today
            sop.save(update_fields=["review_reminded_on"])
            overdue = sop.review_due_on is not None and sop.review_due_on < today
            audit_record(
                actor=None,
                action=AuditAction.SOP_REVIEW_REMINDER,
                target=sop,
                sop_slug=sop.slug,
                data={
                    "review_due_on": sop.review_due_on.isoformat() if sop.review_due_on else None,
                    "overdue": overdue,
                },
            )
            enqueue_on_commit(notify_review_due, sop.pk)
        reminded.append(sop_id)
    return reminded
