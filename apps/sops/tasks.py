"""Notifications sent after a version changes state (thin tasks: load by id, send, retry)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse

from .models import SOPVersion, VersionStatus

logger = logging.getLogger(__name__)


def _version_url(version: SOPVersion) -> str:
    return settings.SOPGOV["PUBLIC_URL"].rstrip("/") + reverse("admin:sops_sopversion_change", args=[version.pk])


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5, acks_late=True)
def notify_review_requested(self, version_id: int) -> int:  # type: ignore[no-untyped-def]
    """E-mail every reviewer (except the author) that ``version_id`` awaits review; return the
    number of recipients. Idempotent enough for retries: a duplicate e-mail is harmless."""
    version = SOPVersion.objects.select_related("sop__category", "author").filter(pk=version_id).first()
    if version is None or version.status != VersionStatus.IN_REVIEW:
        return 0
    reviewers = (
        get_user_model()
        .objects.filter(is_active=True, groups__name="reviewer")
        .exclude(pk=version.author_id)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    recipients = sorted(set(reviewers))
    if recipients:
        send_mail(
            subject=f"[sopgov] Review requested: {version}",
            message=(
                f"{version.author} submitted {version} for review.\n\nChange note: {version.change_note}\n\n"
                f"Needs {version.sop.category.min_approvals} approval(s). Review it: {_version_url(version)}\n"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    logger.info("review requested for %s: %d reviewer(s) notified", version, len(recipients))
    return len(recipients)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5, acks_late=True)
def notify_review_decision(self, version_id: int) -> int:  # type: ignore[no-untyped-def]
    """E-mail the author that ``version_id`` was approved or rejected; return 1 if sent, else 0."""
    version = SOPVersion.objects.select_related("sop", "author").filter(pk=version_id).first()
    if version is None or not version.author.email:
        return 0
    if version.status not in (VersionStatus.APPROVED, VersionStatus.REJECTED):
        return 0
    last = version.reviews.order_by("-created_at").first()
    send_mail(
        subject=f"[sopgov] {version} {version.get_status_display().lower()}",
        message=(
            f"{version} is now {version.get_status_display().lower()}."
            + (f"\n\n{last.reviewer}: {last.comment}" if last and last.comment else "")
            + f"\n\n{_version_url(version)}\n"
        ),
        from_email=None,
        recipient_list=[version.author.email],
    )
    return 1


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5, acks_late=True)
def notify_review_due(self, sop_id: int) -> int:  # type: ignore[no-untyped-def]
    """E-mail the SOP's owner that its periodic review is due (or overdue); return 1 if sent."""
    from .models import SOP

    sop = SOP.objects.select_related("category", "owner").filter(pk=sop_id).first()
    if sop is None or sop.review_due_on is None or not sop.owner.email:
        return 0
    url = settings.SOPGOV["PUBLIC_URL"].rstrip("/") + reverse("admin:sops_sop_change", args=[sop.pk])
    state = "is overdue since" if sop.review_overdue else "is due by"
    send_mail(
        subject=f"[sopgov] Periodic review of {sop.slug} {state} {sop.review_due_on:%Y-%m-%d}",
        message=(
            f"The periodic review of {sop.slug} ({sop.title}) {state} {sop.review_due_on:%Y-%m-%d}.\n\n"
            f"Confirm that the live version is still right (you will sign it), or open a new draft: {url}\n"
        ),
        from_email=None,
        recipient_list=[sop.owner.email],
    )
    return 1


@shared_task(ignore_result=True)
def reviews_remind() -> list[int]:
    """Daily (beat): remind owners of periodic reviews due soon or overdue."""
    from .services import sop_reviews_remind

    return sop_reviews_remind()


@shared_task(bind=True, acks_late=True, ignore_result=True)
def routing_check_run(self, check_id: int) -> str:  # type: ignore[no-untyped-def]
    """Run one routing check (``services.routing_check_run``); return its status."""
    from .services import routing_check_run as run

    check = run(check_id=check_id)
    return check.status if check is not None else "not claimed"
