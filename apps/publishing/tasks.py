"""Workers for remote targets: publications and deployments, retried with backoff, resumable."""

from __future__ import annotations

import logging

from celery import shared_task

from . import agentcore

logger = logging.getLogger(__name__)
MAX_RETRIES = 6


def backoff_seconds(retries: int) -> int:
    """Return the wait before retry number ``retries`` (0-based): 5, 10, 20 … seconds, at most 300."""
    return min(5 * 2**retries, 300)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def publish_to_target(self, publication_id: int) -> str:  # type: ignore[no-untyped-def]
    """Carry out one publication; retry throttling and conflicts with exponential backoff."""
    from .remote import publication_carry_out, publication_give_up

    try:
        return publication_carry_out(publication_id)
    except agentcore.AwsError as exc:
        if self.request.retries >= MAX_RETRIES:
            publication_give_up(publication_id, f"{exc} (after {MAX_RETRIES} retries)")
            return "failed"
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries)) from exc


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def run_deployment(self, deployment_id: int) -> str:  # type: ignore[no-untyped-def]
    """Run or resume one deployment; retry throttling and conflicts with exponential backoff."""
    from .deployments import deployment_give_up, deployment_run

    try:
        return deployment_run(deployment_id)
    except agentcore.AwsError as exc:
        if self.request.retries >= MAX_RETRIES:
            deployment_give_up(deployment_id, f"{exc} (after {MAX_RETRIES} retries)")
            return "failed"
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries)) from exc


@shared_task(ignore_result=True)
def resume_stale() -> dict[str, list[int]]:
    """Re-queue publications and deployments a dead worker left behind (run by beat every minute)."""
    from .deployments import stale_deployment_ids
    from .remote import stale_publication_ids

    publications, deployments = stale_publication_ids(), stale_deployment_ids()
    for publication_id in publications:
        publish_to_target.delay(publication_id)
    for deployment_id in deployments:
        run_deployment.delay(deployment_id)
    if publications or deployments:
        logger.warning("resumed stale publications %s and deployments %s", publications, deployments)
    return {"publications": publications, "deployments": deployments}
