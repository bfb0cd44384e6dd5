"""Release automation: thin Celery tasks around the system's decisions, and their e-mails."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from .services.decisions import active_rollout_ids, rollout_evaluate

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def rollouts_tick() -> dict[str, str]:
    """Evaluate every active rollout (run by Celery beat); return ``{rollout id: decision}``."""
    return rollouts_evaluate(active_rollout_ids())


@shared_task(acks_late=True, ignore_result=True)
def rollouts_evaluate(rollout_ids: list[int]) -> dict[str, str]:
    """Evaluate the given rollouts, each in its own transaction; one failing does not stop the rest."""
    decisions: dict[str, str] = {}
    for rollout_id in rollout_ids:
        try:
            decisions[str(rollout_id)] = rollout_evaluate(rollout_id=rollout_id)
        except Exception:
            logger.exception("evaluating rollout %s failed", rollout_id)
            decisions[str(rollout_id)] = "error"
    changed = {k: v for k, v in decisions.items() if v in ("advanced", "completed", "rolled_back", "srm_paused")}
    if changed:
        logger.info("rollout decisions: %s", changed)
    return decisions


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5, acks_late=True)
def notify_rollout_decision(self, rollout_id: int, kind: str, message: str) -> int:  # type: ignore[no-untyped-def]
    """E-mail the people given a notice about rollout ``rollout_id``'s automatic ``kind``
    (``rolled_back`` / ``paused``); return the number of recipients."""
    from .models import ReleaseNotice

    recipients = sorted(
        set(
            ReleaseNotice.objects.filter(rollout_id=rollout_id, kind=kind)
            .exclude(recipient__email="")
            .values_list("recipient__email", flat=True)
        )
    )
    if not recipients:
        return 0
    url = settings.SOPGOV["PUBLIC_URL"].rstrip("/") + reverse("admin:rollouts_rollout_change", args=[rollout_id])
    subject = message.split(":", 1)[0] + ": " + message.split(":", 1)[1].split(".", 1)[0].strip()
    send_mail(
        subject=f"[sopgov] {subject}"[:200],
        message=f"{message}\n\nOpen the rollout: {url}\n",
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)
