"""Rollout automation: thin Celery tasks around ``services.rollout_evaluate``."""

from __future__ import annotations

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def rollouts_tick() -> dict[str, str]:
    """Evaluate every active rollout (run by Celery beat); return ``{rollout id: decision}``."""
    return rollouts_evaluate(services.active_rollout_ids())


@shared_task(acks_late=True, ignore_result=True)
def rollouts_evaluate(rollout_ids: list[int]) -> dict[str, str]:
    """Evaluate the given rollouts, each in its own transaction; one failing does not stop the rest."""
    decisions: dict[str, str] = {}
    for rollout_id in rollout_ids:
        try:
            decisions[str(rollout_id)] = services.rollout_evaluate(rollout_id=rollout_id)
        except Exception:
            logger.exception("evaluating rollout %s failed", rollout_id)
            decisions[str(rollout_id)] = "error"
    changed = {k: v for k, v in decisions.items() if v in ("advanced", "completed", "rolled_back")}
    if changed:
        logger.info("rollout decisions: %s", changed)
    return decisions
