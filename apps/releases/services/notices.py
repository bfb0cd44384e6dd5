"""Telling people about the system's decisions: a dashboard notice and an e-mail to the SOP's
owner and every release manager when a rollout is rolled back or paused automatically."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import NotFound
from apps.core.tasks import enqueue_on_commit
from apps.rollouts.models import Rollout
from apps.sops.permissions import PERM_RELEASE

from ..models import NoticeKind, ReleaseNotice


def _recipients(rollout: Rollout) -> list[Any]:
    app_label, codename = PERM_RELEASE.split(".")
    has_release = Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label) | Q(
        user_permissions__codename=codename, user_permissions__content_type__app_label=app_label
    )
    users = get_user_model().objects.filter(is_active=True).filter(has_release | Q(pk=rollout.sop.owner_id)).distinct()
    return list(users.order_by("pk"))


def notify_automatic_decision(rollout: Rollout, kind: str, reason: str) -> list[ReleaseNotice]:
    """Record a notice for the SOP's owner and each release manager that ``rollout`` was
    ``rolled_back`` or ``paused`` by the system, and e-mail them after commit. Return the notices.

    Call it in the decision's transaction.
    """
    verb = NoticeKind(kind).label
    message = (
        f"{verb}: the rollout of {rollout.sop.slug} (v{rollout.stable_version.number} → "
        f"v{rollout.candidate_version.number}) at {rollout.stage_log[-1]['percentage'] if rollout.stage_log else rollout.percentage} %. {reason}"
    )
    notices = ReleaseNotice.objects.bulk_create(
        [ReleaseNotice(recipient=user, rollout=rollout, kind=kind, message=message) for user in _recipients(rollout)]
    )
    if notices:
        from ..tasks import notify_rollout_decision

        enqueue_on_commit(notify_rollout_decision, rollout.pk, kind, message)
    return notices


@transaction.atomic
def notice_dismiss(*, actor: Any, notice_id: int) -> ReleaseNotice:
    """Mark one of ``actor``'s notices as read; return it.

    Raises:
        NotFound: no such notice addressed to ``actor``.
    """
    notice = ReleaseNotice.objects.select_for_update().filter(pk=notice_id, recipient_id=actor.pk).first()
    if notice is None:
        raise NotFound("No such notice.")
    if notice.dismissed_at is None:
        notice.dismissed_at = timezone.now()
        notice.save(update_fields=["dismissed_at"])
    return notice
