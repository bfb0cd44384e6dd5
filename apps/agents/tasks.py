"""Agent-side housekeeping run by Celery beat."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def prune_tool_calls() -> int:
    """Daily: delete tool calls older than the retention period; return how many."""
    from .services import tool_calls_prune

    return tool_calls_prune()
