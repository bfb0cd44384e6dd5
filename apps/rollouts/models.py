"""Staged rollouts of SOP versions: plans (templates), running rollouts, and outcome signals.

A rollout moves one SOP from its stable version to a candidate through the stages of a plan
(default 5 → 10 → 50 → 100 % of conversations). Each stage has a minimum soak time and gates
(Argo Rollouts' analysis, simplified): a metric over a window, compared with a threshold,
counting only when there are enough samples.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class RolloutPlan(models.Model):
    """A reusable template of stages; categories use it (``Category.rollout_plan``), or the
    default plan when they name none."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False, help_text="Used by categories that name no plan.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="rolloutplan_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanStage(models.Model):
    """One stage: serve the candidate to ``percentage`` % of conversations for at least
    ``min_soak_seconds`` while its gates hold."""

    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    percentage = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    min_soak_seconds = models.PositiveIntegerField(default=3600, help_text="Minimum time in this stage, in seconds.")

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="planstage_unique_position"),
            models.CheckConstraint(
                condition=Q(percentage__gte=1, percentage__lte=100), name="planstage_percentage_1_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.percentage} % for ≥ {self.min_soak_seconds} s"


class GateMetric(models.TextChoices):
    ESCALATION_RATE = "escalation_rate", "Escalation rate"
    COMPLAINT_RATE = "complaint_rate", "Complaint rate"
    ERROR_RATE = "error_rate", "Error rate"


class GateComparison(models.TextChoices):
    ABSOLUTE = "absolute", "Candidate's rate"
    RELATIVE = "relative", "Candidate's rate ÷ stable's rate"


class GateOperator(models.TextChoices):
    LT = "<", "<"
    LTE = "<=", "≤"
    GT = ">", ">"
    GTE = ">=", "≥"


class GateRule(models.Model):
    """A success condition checked while a stage runs, e.g. *complaint rate of the candidate
    ÷ that of stable ≤ 1.5 over the last 30 minutes, with at least 50 outcomes*. When it does
    not hold (with enough samples) the rollout is rolled back; with too few it waits."""

    stage = models.ForeignKey(PlanStage, on_delete=models.CASCADE, related_name="gates")
    metric = models.CharField(max_length=20, choices=GateMetric.choices)
    comparison = models.CharField(max_length=10, choices=GateComparison.choices, default=GateComparison.ABSOLUTE)
    operator = models.CharField(max_length=2, choices=GateOperator.choices, default=GateOperator.LTE)
    threshold = models.FloatField(help_text="A rate (0.05 = 5 %) or, relative, a ratio (1.5 = 50 % worse).")
    window_seconds = models.PositiveIntegerField(default=1800, help_text="Outcomes of the last … seconds count.")
    min_samples = models.PositiveIntegerField(default=50, help_text="Candidate outcomes needed before judging.")

    class Meta:
        ordering = ["stage", "id"]

    def __str__(self) -> str:
        left = self.get_metric_display().lower()
        if self.comparison == GateComparison.RELATIVE:
            left += " ÷ stable's"
        return f"{left} {self.get_operator_display()} {self.threshold:g} (last {self.window_seconds} s, n ≥ {self.min_samples})"

    def as_rule(self) -> dict[str, Any]:
        """The rule as plain data, as a rollout keeps it and the API shows it: ``{metric,
        comparison, operator, threshold, window_seconds, min_samples}``."""
        return {
            "metric": self.metric,
            "comparison": self.comparison,
            "operator": self.operator,
            "threshold": self.threshold,
            "window_seconds": self.window_seconds,
            "min_samples": self.min_samples,
        }


class RolloutState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    ABORTED = "aborted", "Aborted"
    ROLLED_BACK = "rolled_back", "Rolled back"


ACTIVE_STATES = (RolloutState.RUNNING, RolloutState.PAUSED)


class Rollout(models.Model):
    """One SOP moving from ``stable_version`` to ``candidate_version`` through ``stages`` (the
    plan as it was when the rollout started, so later plan edits do not change it)."""

    sop = models.ForeignKey("sops.SOP", on_delete=models.PROTECT, related_name="rollouts")
    stable_version = models.ForeignKey("sops.SOPVersion", on_delete=models.PROTECT, related_name="+")
    candidate_version = models.ForeignKey("sops.SOPVersion", on_delete=models.PROTECT, related_name="rollouts")
    plan_name = models.CharField(max_length=100)
    stages = models.JSONField(help_text="[{percentage, min_soak_seconds, gates: [...]}], copied from the plan.")
    stage_index = models.PositiveSmallIntegerField(default=0)
    percentage = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=12, choices=RolloutState.choices, default=RolloutState.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    stage_started_at = models.DateTimeField()
    paused_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    last_evaluation = models.JSONField(default=dict, blank=True, help_text="The latest gate results.")
    evaluated_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["last_evaluation", "evaluated_at"])

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sop"], condition=Q(state__in=["running", "paused"]), name="rollout_one_active_per_sop"
            ),
            models.CheckConstraint(
                condition=Q(percentage__gte=0, percentage__lte=100), name="rollout_percentage_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sop.slug} v{self.stable_version.number} → v{self.candidate_version.number}"

    @property
    def is_active(self) -> bool:
        """Return whether the rollout is running or paused."""
        return self.state in ACTIVE_STATES

    @property
    def stage(self) -> dict:
        """Return the current stage of ``stages``."""
        return self.stages[self.stage_index]


class OutcomeKind(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    ESCALATED = "escalated", "Escalated"
    COMPLAINT = "complaint", "Complaint"
    ERROR = "error", "Error"


class OutcomeSource(models.TextChoices):
    AGENT = "agent", "Agent (MCP)"
    API = "api", "API"
    BRIDGE = "bridge", "Bridge tool error"


class Outcome(models.Model):
    """How a conversation served by an SOP version ended, as an agent reported it (or a tool
    error the bridge saw). ``outcome_id`` makes re-sent reports count once."""

    outcome_id = models.UUIDField(unique=True)
    recorded_at = models.DateTimeField(db_index=True)
    sop = models.ForeignKey("sops.SOP", on_delete=models.PROTECT, related_name="outcomes")
    version = models.ForeignKey("sops.SOPVersion", on_delete=models.PROTECT, related_name="outcomes")
    routing_key = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=OutcomeKind.choices)
    source = models.CharField(max_length=6, choices=OutcomeSource.choices)
    reporter = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["version", "recorded_at"], name="outcome_version_time_idx")]

    def __str__(self) -> str:
        return f"{self.version} {self.outcome}"
