"""Agent tokens (bearer credentials with scopes) and the tool-call log of what agents were served."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class AgentToken(models.Model):
    """A bearer token an MCP client (or a bridge) presents, stored only as its sha256.

    Tokens are 256-bit random strings, so a plain sha256 is a sufficient one-way hash (as
    GitHub does for its tokens); no slow password hash is needed. ``user`` is a service
    account that authors the drafts this agent proposes.
    """

    name = models.CharField(max_length=100)
    token_prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    token_sha256 = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agent_tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(revoked_at__isnull=True), name="agenttoken_one_active_per_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_prefix}…)"

    @property
    def is_active(self) -> bool:
        """Return whether the token has not been revoked."""
        return self.revoked_at is None


class ToolCall(models.Model):
    """One MCP tool call a bridge served: who asked, which SOP version they got, how fast.

    ``call_id`` is the bridge's id for the call, so a batch re-sent after a network error is
    stored once. Arguments are kept only as a sha256 of their canonical JSON.
    """

    call_id = models.UUIDField(unique=True)
    called_at = models.DateTimeField(db_index=True)
    bridge_id = models.CharField(max_length=100)
    tool = models.CharField(max_length=64)
    agent_token = models.ForeignKey(AgentToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent_name = models.CharField(max_length=100)
    routing_key = models.CharField(max_length=200, blank=True, db_index=True)
    arguments_sha256 = models.CharField(max_length=64)
    sop_slug = models.CharField(max_length=170, blank=True, db_index=True)
    version_number = models.PositiveIntegerField(null=True, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    bundle_sha256 = models.CharField(max_length=64, blank=True)
    latency_ms = models.FloatField()
    is_error = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True)
    bucket = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The conversation's bucket (1..100).")
    variant = models.CharField(max_length=8, blank=True, help_text="stable or canary, when an SOP was served.")
    question = models.TextField(
        blank=True, help_text="The customer's question, for get_sop_for_question calls (at most 2,000 characters)."
    )

    class Meta:
        ordering = ["-called_at"]
        verbose_name = "tool call"

    def __str__(self) -> str:
        return f"{self.called_at:%Y-%m-%d %H:%M:%S} {self.agent_name} {self.tool}"
