"""What each tool returns as ``structuredContent``, as pydantic models: the SDK publishes each
model's JSON Schema as the tool's ``outputSchema`` (MCP 2025-11-25, "Tools › Output Schema") and
validates successful results against it.

One model per tool holds both its answers and its error answers (an ``outputSchema`` must be a
single object schema): the seed's keys, ours (``title``, ``version``, ``content_sha256``, …) and
the error keys every tool may give (``error``, ``detail``, ``available_categories``,
``available_sops``). No other key is allowed (``extra="forbid"``), so a reply that drifts from
its schema fails ``tests/bridge/test_server.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["resolved", "escalated", "complaint", "error"]
"""What happened in a conversation that followed an SOP (``report_sop_outcome``)."""


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error: str | None = Field(None, description="Set on errors: what went wrong, e.g. 'SOP key not found'.")
    detail: str | None = Field(None, description="On errors: what to do about it.")


class _SOPLookupErrors(_Reply):
    available_categories: list[str] | None = Field(None, description="On 'Category not found': what exists.")
    available_sops: list[str] | None = Field(None, description="On 'SOP key not found': the category's SOP keys.")


class CategoriesReply(_Reply):
    """list_sop_categories: the categories with live SOPs."""

    result: list[str] | None = Field(None, description="Category slugs, e.g. billing.")


class SOPReply(_SOPLookupErrors):
    """get_specific_sop: one SOP as this conversation is served it."""

    category: str | None = None
    sop_key: str | None = None
    sop_content: str | None = Field(None, description="The SOP's Markdown: the procedure to follow.")
    title: str | None = None
    version: int | None = Field(None, description="The version served (stable, or the canary in a rollout).")
    content_sha256: str | None = None


class Alternative(BaseModel):
    """A runner-up SOP for the question."""

    model_config = ConfigDict(extra="forbid")
    category: str
    sop_key: str
    title: str


class SOPSummary(BaseModel):
    """One SOP of a category when several apply equally."""

    model_config = ConfigDict(extra="forbid")
    sop_key: str
    title: str
    summary: str
    version: int
    content_sha256: str


class QuestionReply(SOPReply):
    """get_sop_for_question: the SOP for the question; or the category's SOPs when several
    apply (sop_list, sops); or category "general" when none fits."""

    confidence: float | None = Field(None, description="0..1; how clearly this SOP answers the question.")
    alternatives: list[Alternative] | None = None
    sop_list: list[str] | None = Field(None, description="When several SOPs apply: their keys (the seed's key).")
    sops: list[SOPSummary] | None = None


class ProposalReply(_Reply):
    """propose_sop_change: the draft recorded for people to review."""

    status: Literal["proposed"] | None = None
    message: str | None = None
    category: str | None = None
    sop_key: str | None = None
    draft_version: int | None = Field(None, description="The draft's version number.")
    available_sops: list[str] | None = None


class OutcomeReply(_SOPLookupErrors):
    """report_sop_outcome: the outcome queued for the app, and the version it counts for."""

    status: Literal["recorded"] | None = None
    category: str | None = None
    sop_key: str | None = None
    version: int | None = None
    outcome: Outcome | None = None
    bucket: int | None = Field(None, description="The conversation's bucket, 1..100 (rollout share).")
