"""Reads of agent tokens and the tool-call log."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import AgentToken, ToolCall


def credentials_snapshot() -> dict[str, Any]:
    """Return what bridges need to authenticate agents, without any secret.

    Shape: ``{"tokens": [{"id", "name", "sha256", "scopes"}]}`` for active tokens, sorted by
    id. Bridges compare the sha256 of a presented bearer token with these hashes.
    """
    rows = (
        AgentToken.objects.filter(revoked_at__isnull=True).order_by("pk").values("pk", "name", "token_sha256", "scopes")
    )
    return {
        "tokens": [
            {"id": r["pk"], "name": r["name"], "sha256": r["token_sha256"], "scopes": sorted(r["scopes"])} for r in rows
        ]
    }


def tool_call_list() -> QuerySet[ToolCall]:
    """Return tool calls, newest first."""
    return ToolCall.objects.order_by("-called_at")


def calls_for_routing_key(routing_key: str, limit: int = 500) -> list[ToolCall]:
    """Return the tool calls of one conversation (routing key), oldest first, at most ``limit``:
    the exact version, content hash, bundle and variant each call was served."""
    return list(reversed(ToolCall.objects.filter(routing_key=routing_key).order_by("-called_at")[:limit]))
