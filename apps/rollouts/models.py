"""Staged rollouts of SOP versions: plans (templates), running rollouts, and outcome signals.

A rollout moves one SOP from its stable version to a candidate through the stages of a plan
(default 5 → 10 → 50 → 100 % of conversations). Each stage has a minimum soak time, a minimum
number of candidate outcomes and guardrail gates: a metric (complaint, escalation or error
rate) and a harm line the candidate must not clearly cross, judged by an always-valid
sequential test (``statistics``) at the plan's α, so that checking after every outcome does not
roll back good versions on noise. Rollouts are changed by the release layer (``apps.releases``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .gates import gate_label


class AdvanceRule(models.TextChoices):
    NO_HARM = "no_harm", "No evidence of harm (soak and minimum outcomes met)"
    NON_INFERIORITY = "non_inferiority", "Shown within every gate's harm line (non-inferiority)"


class RolloutPlan(models.Model):
    """A reusable template of stages; categories use it (``CategoryPlan``), or the
    default plan when they name none."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False, help_text="Used by categories that name no plan.")
    alpha = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.001), MaxValueValidator(0.2)],
        help_text="Risk of rolling back a version that is as good as stable, per rollout, across all its "
        "gates and stages (0.05 = 5 %).",
    )
    advance_on = models.CharField(
        max_length=16,
        choices=AdvanceRule.choices,
        default=AdvanceRule.NO_HARM,
        help_text="What a stage needs, besides its soak time and minimum outcomes, to advance.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="rolloutplan_one_default"
            ),
            models.CheckConstraint(condition=Q(alpha__gt=0, alpha__lt=1), name="rolloutplan_alpha_0_1"),
        ]

    def __str__(self) -> str:
        return self.name


class CategoryPlan(models.Model):
    """Which plan a category's new versions go through (categories without one use the default)."""

    category = models.OneToOneField("sops.Category", on_delete=models.CASCADE, related_name="rollout_plan_choice")
    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="category_choices")

    class Meta:
        verbose_name = "category's rollout plan"

    def __str__(self) -> str:
        return f"{self.category} → {self.plan}"


class PlanStage(models.Model):
    """One stage: serve the candidate to ``percentage`` % of conversations for at least
    ``min_soak_seconds`` while its gates hold."""

    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    percentage = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    min_soak_seconds = models.PositiveIntegerField(default=3600, help_text="Minimum time in this stage, in seconds.")
    min_outcomes = models.PositiveIntegerField(
        default=50, help_text="Candidate outcomes reported in this stage before it may advance."
    )

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="planstage_unique_position"),
            models.CheckConstraint(
                condition=Q(percentage__gte=1, percentage__lte=100), name="planstage_percentage_1_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.percentage} % for ≥ {self.min_soak_seconds} s and ≥ {self.min_outcomes} outcomes"


class GateMetric(models.TextChoices):
    ESCALATION_RATE = "escalation_rate", "Escalation rate"
    COMPLAINT_RATE = "complaint_rate", "Complaint rate"
    ERROR_RATE = "error_rate", "Error rate"


class GateComparison(models.TextChoices):
    ABSOLUTE = "absolute", "Candidate's rate"
    RELATIVE = "relative", "Candidate's rate ÷ stable's rate"


class GateRule(models.Model):
    """A guardrail checked while a stage runs: the candidate's ``metric`` must not clearly exceed
    the harm line ``threshold`` — a rate (absolute: 0.05 = 5 % of outcomes) or a multiple of
    stable's rate (relative: 1.0 = any increase, 1.2 = 20 % more).

    "Clearly" is an always-valid sequential test over all the rollout's outcomes so far at the
    plan's α, shared among the plan's gates (``statistics``): harm that is clear rolls the rollout
    back; otherwise the stage advances when its soak and minimum outcomes are met.
    """

    stage = models.ForeignKey(PlanStage, on_delete=models.CASCADE, related_name="gates")
    metric = models.CharField(max_length=20, choices=GateMetric.choices)
    comparison = models.CharField(max_length=10, choices=GateComparison.choices, default=GateComparison.RELATIVE)
    threshold = models.FloatField(
        validators=[MinValueValidator(0.0)],
        help_text="Harm line: a rate (absolute, 0.05 = 5 %) or a multiple of stable's rate (relative, 1.0 = any increase).",
    )

    class Meta:
        ordering = ["stage", "id"]

    def __str__(self) -> str:
        return gate_label(self.as_rule())

    def as_rule(self) -> dict[str, Any]:
        """The rule as plain data, as a rollout keeps it and the API shows it: ``{metric,
        comparison, threshold}``."""
        return {"metric": self.metric, "comparison": self.comparison, "threshold": self.threshold}


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
    alpha = models.FloatField(default=0.05, help_text="The plan's α when the rollout started.")
    advance_on = models.CharField(max_length=16, choices=AdvanceRule.choices, default=AdvanceRule.NO_HARM)
    stage_log = models.JSONField(
        default=list, blank=True, help_text="[{stage, percentage, started_at}]: when each stage began."
    )
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
