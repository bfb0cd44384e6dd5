"""Categories, SOPs, their immutable versions and the reviews of those versions.

Invariants that must hold whatever writes the rows are also database constraints: one live
version per SOP, unique version numbers, one review per reviewer and version.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

CATEGORY_SLUG_RE = r"^[a-z0-9][a-z0-9_]{0,63}$"
SOP_KEY_RE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"


def new_salt() -> str:
    """Return a random salt for an SOP's canary bucketing (16 hex characters)."""
    return secrets.token_hex(8)


def content_sha256(content: str) -> str:
    """Return the hex sha256 of ``content`` encoded as UTF-8 (the version's content hash)."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


class Category(models.Model):
    """A group of SOPs (``billing``) and its approval policy."""

    slug = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(CATEGORY_SLUG_RE, "Use lower-case letters, digits and underscores.")],
        help_text="Identifier agents use, e.g. billing or technical_support.",
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    min_approvals = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Approvals a version needs before it may be published (approval policy).",
    )
    routing_policy = models.CharField(
        max_length=16,
        choices=[
            ("report", "Show routing regressions to reviewers"),
            ("no_regressions", "Approve only versions without routing regressions"),
        ],
        default="report",
        help_text="What the routing check on a submitted version means for its approval.",
    )
    review_period_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Periodic review: a live SOP must be confirmed or revised this many months after going live.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(condition=Q(min_approvals__gte=1), name="category_min_approvals_gte_1"),
        ]

    def __str__(self) -> str:
        return self.slug


class SOP(models.Model):
    """One procedure, identified by ``category/key``, with an owner and numbered versions."""

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="sops")
    key = models.CharField(
        max_length=100,
        validators=[RegexValidator(SOP_KEY_RE, "Use letters, digits, underscores and hyphens.")],
        help_text="Identifier within the category, e.g. refund_policy.",
    )
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_sops")
    salt = models.CharField(
        max_length=32, default=new_salt, editable=False, help_text="Seeds this SOP's canary bucketing."
    )
    review_due_on = models.DateField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Periodic review: confirm or revise the live version by this date.",
    )
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reminded_on = models.DateField(null=True, blank=True, help_text="When the owner was last reminded.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["category__slug", "key"]
        verbose_name = "SOP"
        verbose_name_plural = "SOPs"
        constraints = [
            models.UniqueConstraint(fields=["category", "key"], name="sop_unique_category_key"),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def slug(self) -> str:
        """Return ``category/key``."""
        return f"{self.category.slug}/{self.key}"

    @property
    def review_overdue(self) -> bool:
        """Return whether the periodic review date has passed."""
        from django.utils import timezone

        return self.review_due_on is not None and self.review_due_on < timezone.localdate()


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CANARY = "canary", "Canary"
    LIVE = "live", "Live"
    SUPERSEDED = "superseded", "Superseded"
    REJECTED = "rejected", "Rejected"
    RETIRED = "retired", "Retired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class VersionOrigin(models.TextChoices):
    PERSON = "person", "Written by a person"
    AGENT = "agent", "Proposed by an agent"
    IMPORT = "import", "Imported"


class SOPVersion(models.Model):
    """One revision of an SOP's content. Editable while a draft, immutable once submitted."""

    sop = models.ForeignKey(SOP, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    content = models.TextField(help_text="The procedure, in Markdown.")
    content_sha256 = models.CharField(max_length=64, editable=False)
    summary = models.CharField(
        max_length=500, help_text="One sentence: when to use this SOP. Agents see it as the description."
    )
    example_questions = models.JSONField(default=list, blank=True)
    change_note = models.TextField(help_text="Why this version exists.")
    origin = models.CharField(max_length=8, choices=VersionOrigin.choices, default=VersionOrigin.PERSON)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sop_versions")
    # Bumped on every draft save; the editor sends it back so concurrent edits are detected.
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When it stopped being live.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["sop", "-number"]
        verbose_name = "SOP version"
        constraints = [
            models.UniqueConstraint(fields=["sop", "number"], name="sopversion_unique_number"),
            models.UniqueConstraint(fields=["sop"], condition=Q(status="live"), name="sopversion_one_live_per_sop"),
            models.UniqueConstraint(fields=["sop"], condition=Q(status="canary"), name="sopversion_one_canary_per_sop"),
            models.CheckConstraint(condition=Q(number__gte=1), name="sopversion_number_gte_1"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in VersionStatus]), name="sopversion_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status"], name="sopversion_status_idx")]
        permissions = [
            ("submit_sopversion", "Can submit a draft for review"),
            ("review_sopversion", "Can approve or reject a version"),
            ("publish_sopversion", "Can publish, roll back and retire versions"),
        ]

    def __str__(self) -> str:
        return f"{self.sop.slug} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; refuse a status change that does not come from ``services.version_transition``
        (the one writer of a version's status) and a new version that is not a draft.

        Raises:
            RuntimeError: the status was changed some other way.
        """
        saved = getattr(self, "_saved_status", None) if self.pk else VersionStatus.DRAFT
        known = saved is not None
        if known and self.status != saved and not getattr(self, "_status_writer", False):
            raise RuntimeError(
                f"{self}: status {saved!r} → {self.status!r} must go through sops.services.version_transition"
            )
        super().save(*args, **kwargs)
        self._saved_status = self.status

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any, **kwargs: Any) -> SOPVersion:
        instance = super().from_db(db, field_names, values, **kwargs)
        if "status" in instance.__dict__:
            instance._saved_status = instance.__dict__["status"]
        return instance

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        if "status" in self.__dict__:
            self._saved_status = self.__dict__["status"]


class ReviewDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Review(models.Model):
    """A reviewer's decision on a version in review; approvals count against the policy."""

    version = models.ForeignKey(SOPVersion, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    decision = models.CharField(max_length=8, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True)
    content_sha256 = models.CharField(max_length=64, help_text="Hash of the content the reviewer decided on.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "reviewer"], name="review_one_per_reviewer"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.version} by {self.reviewer}"


MAX_TEST_QUESTION_CHARS = 1000


class RoutingTestSource(models.TextChoices):
    AUTHOR = "author", "Written by an author"
    TOOL_CALL = "tool_call", "Asked by a customer (from the tool-call log)"


class RoutingTest(models.Model):
    """A question ``sop`` must keep answering: with the SOP's example questions, its routing
    regression set. Authors add them in the editor; reviewers and auditors add real questions
    from the tool-call log."""

    sop = models.ForeignKey(SOP, on_delete=models.CASCADE, related_name="routing_tests")
    question = models.TextField()
    source = models.CharField(max_length=10, choices=RoutingTestSource.choices, default=RoutingTestSource.AUTHOR)
    tool_call_id = models.UUIDField(null=True, blank=True, help_text="The logged call it was taken from.")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sop", "id"]
        constraints = [models.UniqueConstraint(fields=["sop", "question"], name="routingtest_unique_question")]

    def __str__(self) -> str:
        return f"{self.sop}: {self.question[:60]}"


class RoutingCheckStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a worker"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RoutingCheck(models.Model):
    """Every SOP's regression questions routed with what is live and with what would be live if
    ``version`` were (``routing_check``): accuracy before and after, and each question that
    would reach a different SOP. ``sha256`` identifies the result (canonical JSON of
    ``summary()`` and ``changes``); signatures and audit events carry it."""

    version = models.ForeignKey(SOPVersion, on_delete=models.CASCADE, related_name="routing_checks")
    status = models.CharField(max_length=8, choices=RoutingCheckStatus.choices, default=RoutingCheckStatus.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=64, blank=True, help_text="The models the router used.")
    questions = models.PositiveIntegerField(default=0)
    correct_before = models.PositiveIntegerField(default=0)
    correct_after = models.PositiveIntegerField(default=0)
    regressions = models.PositiveIntegerField(default=0, help_text="Answered right before, wrong after.")
    improvements = models.PositiveIntegerField(default=0, help_text="Answered wrong before, right after.")
    changes = models.JSONField(default=list, blank=True, help_text="[{question, expected, before, after}]")
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"routing check of {self.version} ({self.status})"

    def summary(self) -> dict[str, Any]:
        """Return the counts: ``{questions, correct_before, correct_after, regressions, improvements,
        accuracy_before, accuracy_after, method}`` (accuracies as fractions, ``None`` without questions)."""
        n = self.questions
        return {
            "questions": n,
            "correct_before": self.correct_before,
            "correct_after": self.correct_after,
            "regressions": self.regressions,
            "improvements": self.improvements,
            "accuracy_before": round(self.correct_before / n, 4) if n else None,
            "accuracy_after": round(self.correct_after / n, 4) if n else None,
            "method": self.method,
        }

    def evidence(self) -> dict[str, Any]:
        """Return what a signature and an audit event record of it: the counts and the sha256."""
        return {"check": self.pk, "sha256": self.sha256, **self.summary()}
