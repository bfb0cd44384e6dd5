"""Bundles (content-addressed snapshots of what agents are served) and their publications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Bundle(models.Model):
    """An immutable snapshot of every live SOP version, identified by the sha256 of its bytes."""

    sha256 = models.CharField(max_length=64, unique=True)
    payload = models.TextField(help_text="Canonical JSON (mcp_bridge.bundle_format).")
    sop_count = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"bundle {self.sha256[:12]} ({self.sop_count} SOPs)"


class BundleHead(models.Model):
    """The pointer to the current bundle: a single row, locked while a new bundle is built.

    Locking this row serialises bundle builds, so the last build to commit has seen every
    change committed before it and the current bundle never misses a publish.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    bundle = models.ForeignKey(Bundle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="bundlehead_singleton")]

    def __str__(self) -> str:
        return f"current: {self.bundle}"


class PublicationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class PublicationCause(models.TextChoices):
    PUBLISH = "publish", "Publish"
    ROLLBACK = "rollback", "Rollback"
    RETIRE = "retire", "Retire"
    IMPORT = "import", "Import"
    REBUILD = "rebuild", "Rebuild"
    ROLLOUT_START = "rollout_start", "Rollout started"
    ROLLOUT_STEP = "rollout_step", "Rollout stage"
    ROLLOUT_COMPLETE = "rollout_complete", "Rollout completed"
    ROLLOUT_ABORT = "rollout_abort", "Rollout aborted"
    ROLLOUT_ROLLBACK = "rollout_rollback", "Rollout rolled back"


class Publication(models.Model):
    """The record that a bundle was made current for a target, by whom, when and why.

    Local bridges pull the current bundle themselves, so a local publication succeeds when it
    is committed; the bridges' own acknowledgements are recorded separately.
    """

    bundle = models.ForeignKey(Bundle, on_delete=models.PROTECT, related_name="publications")
    previous_bundle = models.ForeignKey(Bundle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    target = models.CharField(max_length=64, default="local")
    cause = models.CharField(max_length=20, choices=PublicationCause.choices)
    version = models.ForeignKey(
        "sops.SOPVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="publications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.SUCCEEDED)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.cause} → {self.bundle.sha256[:12]} ({self.target})"
