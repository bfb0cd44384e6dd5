"""Queueing side effects after commit without letting a broker outage break the write."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue the Celery ``task`` once the current transaction commits.

    If the broker (Redis) is unreachable the write has already committed; the failure is
    logged with the task's name and arguments and the caller's request still succeeds.
    """

    def send() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception:
            logger.exception(
                "could not queue %s args=%r kwargs=%r; the change itself is saved", task.name, args, kwargs
            )

    transaction.on_commit(send)
