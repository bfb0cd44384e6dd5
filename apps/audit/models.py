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
    VERSION_WITHDRAW = "version.withdraw", "Withdrawn by its author (a draft discarded or a submission taken back)"
    VERSION_PUBLISH = "version.publish", "Published (events before the release layer)"
    VERSION_GO_LIVE = "version.go_live", "Went live"
    VERSION_CANARY_START = "version.canary_start", "Canary started"
    VERSION_CANARY_WITHDRAW = "version.canary_withdraw", "Canary withdrawn"
    VERSION_ROLLOUT_COMPLETE = "version.rollout_complete", "Rollout completed: went live"
    VERSION_SUPERSEDE = "version.supersede", "Superseded"
    VERSION_ROUTING_CHECK = "version.routing_check", "Routing check run"
    ROUTING_TEST_ADD = "routing_test.add", "Routing test question added"
    ROUTING_TEST_REMOVE = "routing_test.remove", "Routing test question removed"
    VERSION_ROLLBACK = "version.rollback", "Rolled back to"
    VERSION_RETIRE = "version.retire", "Retired"
    BUNDLE_PUBLISH = "bundle.publish", "Bundle published"
    PUBLICATION_FINISH = "publication.finish", "Publication to a target finished"
    ROLLOUT_START = "rollout.start", "Rollout started"
    ROLLOUT_ADVANCE = "rollout.advance", "Rollout advanced"
    ROLLOUT_WAIT = "rollout.wait", "Rollout waiting for data"
    ROLLOUT_PAUSE = "rollout.pause", "Rollout paused"
    ROLLOUT_RESUME = "rollout.resume", "Rollout resumed"
    ROLLOUT_COMPLETE = "rollout.complete", "Rollout completed"
    ROLLOUT_ABORT = "rollout.abort", "Rollout aborted"
    ROLLOUT_ROLLBACK = "rollout.rollback", "Rollout rolled back automatically"
    ROLLOUT_SRM = "rollout.srm", "Rollout paused: sample-ratio mismatch"
    PLAN_CHANGE = "plan.change", "Rollout plan changed"
    TARGET_CHANGE = "target.change", "Publication target changed"
    TARGET_RUNTIME = "target.runtime", "AgentCore runtime recorded"
    DEPLOYMENT_START = "deployment.start", "Deployment requested"
    DEPLOYMENT_FINISH = "deployment.finish", "Deployment finished"
    SOP_REVIEW = "sop.review", "Periodic review confirmed"
    SOP_REVIEW_REMINDER = "sop.review_reminder", "Periodic review reminder sent"
    SIGNATURE_REFUSED = "signature.refused", "E-signature refused (wrong password)"
    SIGNING_LOCKED = "signature.locked", "E-signing locked after repeated failures"
    AUDIT_VERIFY = "audit.verify", "Audit chain verified"
    TOOLCALLS_PRUNE = "toolcalls.prune", "Tool-call log pruned"
    LIBRARY_IMPORT = "library.import", "Library imported"
    TOKEN_ISSUE = "token.issue", "Agent token issued"
    TOKEN_REVOKE = "token.revoke", "Agent token revoked"


class AuditEvent(models.Model):
    """Who did what to which object, when, why, with the state before and after.

    ``actor`` is null for the system; ``actor_label`` keeps the name even if the user is
    renamed. ``sop_slug`` and ``category`` let an auditor filter one SOP's or one category's
    trail without joins.

    Append-only: a database trigger refuses UPDATE and DELETE (``migrations/0004``), except the
    one update that seals an event into the hash chain (``seq``, ``prev_hash``, ``hash``: see
    ``chain``), which ``services.audit_seal`` makes right after the event's transaction commits.
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
    sop_slug = models.CharField(max_length=170, blank=True)
    category = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    seq = models.BigIntegerField(null=True, blank=True, unique=True, help_text="Position in the hash chain.")
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            # Each filter of the auditor's list, newest first (keyset pagination on id).
            models.Index(fields=["action", "-id"], name="audit_action_id_idx"),
            models.Index(fields=["sop_slug", "-id"], name="audit_sop_id_idx"),
            models.Index(fields=["category", "-id"], name="audit_category_id_idx"),
            models.Index(fields=["actor_label", "-id"], name="audit_actor_id_idx"),
            # Date ranges: the window's first and last id, read from the index alone
            # (``selectors.date_window_ids``).
            models.Index(fields=["created_at", "id"], name="audit_created_id_idx"),
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.target_label}"


class AuditChainHead(models.Model):
    """The end of the hash chain: the last sealed ``seq`` and its ``hash`` (a single row).

    Locked while events are sealed, so seals happen one at a time in ``seq`` order; compared
    with the last event when the chain is verified, so events cut from the end are noticed.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="auditchainhead_singleton")]

    def __str__(self) -> str:
        return f"audit chain at {self.seq} ({self.hash[:12]})"


class VerificationStatus(models.TextChoices):
    RUNNING = "running", "Running"
    INTACT = "intact", "Intact"
    BROKEN = "broken", "Broken"
    FAILED = "failed", "Could not finish"


class AuditVerification(models.Model):
    """One walk of the hash chain, started by an auditor's button or ``verify_audit``; its
    progress is stored as it goes so the page can show a progress bar."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=8, choices=VerificationStatus.choices, default=VerificationStatus.RUNNING)
    total = models.BigIntegerField(default=0)
    checked = models.BigIntegerField(default=0)
    head_seq = models.BigIntegerField(null=True, blank=True)
    head_hash = models.CharField(max_length=64, blank=True)
    unsealed = models.BigIntegerField(default=0)
    first_break = models.JSONField(
        null=True, blank=True, help_text="{seq, event_id, problem} of the first broken link."
    )
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"verification {self.pk}: {self.status}"

    @property
    def progress(self) -> int:
        """Percent of the chain checked (0–100)."""
        if self.status != VerificationStatus.RUNNING:
            return 100
        return min(99, int(100 * self.checked / self.total)) if self.total else 0
