"""Audit events: one append-only record per state change, written in the change's transaction."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    CATEGORY_CREATE = "category.create", "Category created"
    CATEGORY_UPDATE = "category.update", "Category changed"
    SOP_CREATE = "sop.create", "SOP created"
    SOP_UPDATE = "sop.update", "SOP details changed"
    VERSION_CREATE = "version.create", "Draft created"
    VERSION_EDIT = "version.edit", "Draft edited"
    VERSION_PROPOSE = "version.propose", "Change proposed by an agent"
    VERSION_SUBMIT = "version.submit", "Submitted for review"
    VERSION_APPROVE = "version.approve", "Approved"
    VERSION_REJECT = "version.reject", "Rejected"
    VERSION_PUBLISH = "version.publish", "Published"
    VERSION_SUPERSEDE = "version.supersede", "Superseded"
    VERSION_ROLLBACK = "version.rollback", "Rolled back to"
    VERSION_RETIRE = "version.retire", "Retired"
    BUNDLE_PUBLISH = "bundle.publish", "Bundle published"
    ROLLOUT_START = "rollout.start", "Rollout started"
    ROLLOUT_ADVANCE = "rollout.advance", "Rollout advanced"
    ROLLOUT_WAIT = "rollout.wait", "Rollout waiting for data"
    ROLLOUT_PAUSE = "rollout.pause", "Rollout paused"
    ROLLOUT_RESUME = "rollout.resume", "Rollout resumed"
    ROLLOUT_COMPLETE = "rollout.complete", "Rollout completed"
    ROLLOUT_ABORT = "rollout.abort", "Rollout aborted"
    ROLLOUT_ROLLBACK = "rollout.rollback", "Rollout rolled back automatically"
    PLAN_CHANGE = "plan.change", "Rollout plan changed"
    TARGET_CHANGE = "target.change", "Publication target changed"
    TARGET_RUNTIME = "target.runtime", "AgentCore runtime recorded"
    DEPLOYMENT_START = "deployment.start", "Deployment requested"
    DEPLOYMENT_FINISH = "deployment.finish", "Deployment finished"
    LIBRARY_IMPORT = "library.import", "Library imported"
    TOKEN_ISSUE = "token.issue", "Agent token issued"
    TOKEN_REVOKE = "token.revoke", "Agent token revoked"


class AuditEvent(models.Model):
    """Who did what to which object, when, why, with the state before and after.

    ``actor`` is null for the system; ``actor_label`` keeps the name even if the user is
    renamed. ``sop_slug`` lets an auditor filter one SOP's trail without joins.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=200)
    sop_slug = models.CharField(max_length=170, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.target_label}"
