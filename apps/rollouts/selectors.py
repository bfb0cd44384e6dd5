"""Reads for rollouts: plans, outcome counts per stage, gate results, the served split, charts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncMinute
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import gates, statistics
from .gates import EVENT_OF_METRIC
from .models import ACTIVE_STATES, CategoryPlan, Outcome, Rollout, RolloutPlan


def default_plan() -> RolloutPlan | None:
    """Return the plan categories use when they name none."""
    return RolloutPlan.objects.filter(is_default=True).prefetch_related("stages__gates").first()


def plan_for_category(category: Any) -> RolloutPlan | None:
    """Return the category's plan, else the default plan."""
    choice = CategoryPlan.objects.filter(category_id=category.pk).values_list("plan_id", flat=True).first()
    if choice is not None:
        return RolloutPlan.objects.prefetch_related("stages__gates").get(pk=choice)
    return default_plan()


def categories_of_plan(plan: RolloutPlan) -> list[Any]:
    """Return the categories that chose ``plan``, by slug."""
    return [
        c.category for c in CategoryPlan.objects.filter(plan=plan).select_related("category").order_by("category__slug")
    ]


def active_rollout(sop: Any) -> Rollout | None:
    """Return the SOP's running or paused rollout, or ``None``."""
    return (
        Rollout.objects.filter(sop=sop, state__in=ACTIVE_STATES)
        .select_related("sop__category", "stable_version", "candidate_version")
        .first()
    )


def rollout_list() -> QuerySet[Rollout]:
    """Return rollouts with SOP and versions, active first, newest first."""
    return Rollout.objects.select_related(
        "sop__category", "sop__owner", "stable_version", "candidate_version", "started_by"
    )


def stage_starts(rollout: Rollout) -> list[datetime]:
    """Return when each stage so far began (from ``stage_log``; a rollout without a log is one stage)."""
    starts = [parse_datetime(entry["started_at"]) for entry in rollout.stage_log if entry.get("started_at")]
    return [s for s in starts if s is not None] or [rollout.started_at]


def _until(rollout: Rollout, now: datetime | None) -> datetime:
    return rollout.ended_at or now or timezone.now()


def stage_counts(rollout: Rollout, now: datetime | None = None) -> list[gates.StageCounts]:
    """Return the outcomes of stable and candidate in each stage so far, oldest stage first (one
    query). An outcome belongs to the stage during which it was recorded."""
    starts = stage_starts(rollout)
    until = _until(rollout, now)
    stage_of = Case(
        *[When(recorded_at__gte=start, then=Value(i)) for i, start in reversed(list(enumerate(starts)))],
        default=Value(0),
        output_field=IntegerField(),
    )
    rows = (
        Outcome.objects.filter(
            version_id__in=[rollout.candidate_version_id, rollout.stable_version_id],
            recorded_at__gte=starts[0],
            recorded_at__lte=until,
        )
        .annotate(stage=stage_of)
        .values("stage", "version_id", "outcome")
        .annotate(n=Count("id"))
    )
    per_stage: list[dict[str, dict[str, int]]] = [{"candidate": {}, "stable": {}} for _ in starts]
    for row in rows:
        side = "candidate" if row["version_id"] == rollout.candidate_version_id else "stable"
        per_stage[row["stage"]][side][row["outcome"]] = row["n"]
    return [gates.StageCounts(candidate=s["candidate"], stable=s["stable"]) for s in per_stage]


def gate_results(
    rollout: Rollout, now: datetime | None = None, counts: list[gates.StageCounts] | None = None
) -> list[dict[str, Any]]:
    """Judge every gate of the rollout's current stage on all its outcomes so far (``gates.evaluate_gate``)."""
    counts = counts if counts is not None else stage_counts(rollout, now)
    alpha = gates.alpha_per_gate(rollout.alpha, rollout.stages)
    return [gates.evaluate_gate(g, counts, alpha=alpha) for g in rollout.stage.get("gates", [])]


def conversations_served(rollout: Rollout, since: datetime, until: datetime) -> dict[str, int]:
    """Return distinct conversations (routing keys) served the candidate and stable in ``[since,
    until]``, and tool calls without a routing key (always stable): ``{"candidate", "stable",
    "no_routing_key_calls"}``. One query."""
    from apps.agents.models import ToolCall

    calls = ToolCall.objects.filter(sop_slug=rollout.sop.slug, called_at__gte=since, called_at__lte=until)
    row = calls.aggregate(
        candidate=Count("routing_key", distinct=True, filter=Q(variant="canary") & ~Q(routing_key="")),
        stable=Count("routing_key", distinct=True, filter=Q(variant="stable") & ~Q(routing_key="")),
        no_routing_key_calls=Count("id", filter=Q(routing_key="")),
    )
    return {k: int(v or 0) for k, v in row.items()}


def sample_ratio(rollout: Rollout, now: datetime | None = None) -> statistics.SampleRatio | None:
    """Return the χ² test of conversations served each version in the current stage (since a
    person last resumed it) against its percentage, or ``None`` at 0 % or 100 %."""
    if not 0 < rollout.percentage < 100:
        return None
    since = stage_starts(rollout)[-1]
    resumed = parse_datetime(rollout.stage_log[-1].get("split_checked_from", "")) if rollout.stage_log else None
    if resumed is not None:  # a person resumed after a mismatch: judge the split from then on
        since = max(since, resumed)
    served = conversations_served(rollout, since, _until(rollout, now))
    return statistics.sample_ratio_test(
        candidate=served["candidate"], stable=served["stable"], expected_share=rollout.percentage / 100
    )


def rollout_summary(rollout: Rollout, now: datetime | None = None) -> dict[str, Any]:
    """Return what the rollout page shows, all over the same period (the rollout so far):
    conversations served and outcomes per version, per-stage counts, the gates and the split test.

    Shape: ``{"served": conversations_served(...), "outcomes": {"candidate": {kind: n, "total"},
    "stable": {...}}, "stage_outcomes": [{"candidate", "stable"}], "gates": [...],
    "sample_ratio": SampleRatio | None}``.
    """
    counts = stage_counts(rollout, now)
    totals: dict[str, dict[str, int]] = {"candidate": {}, "stable": {}}
    for stage in counts:
        for name, kinds in (("candidate", stage.candidate), ("stable", stage.stable)):
            for kind, n in kinds.items():
                totals[name][kind] = totals[name].get(kind, 0) + n
    for per_kind in totals.values():
        per_kind["total"] = sum(v for k, v in per_kind.items() if k != "total")
    return {
        "served": conversations_served(rollout, rollout.started_at, _until(rollout, now)),
        "outcomes": totals,
        "stage_outcomes": [{"candidate": s.candidate_n, "stable": s.stable_n} for s in counts],
        "gates": gate_results(rollout, now, counts) if rollout.is_active else rollout.last_evaluation.get("gates", []),
        "sample_ratio": sample_ratio(rollout, now) if rollout.is_active else None,
    }


def outcomes_per_hour(sop: Any, days: int = 7, now: datetime | None = None) -> float:
    """Return the SOP's outcomes reported per hour over the last ``days`` days (all versions)."""
    now = now or timezone.now()
    n = Outcome.objects.filter(sop=sop, recorded_at__gte=now - timedelta(days=days)).count()
    return n / (days * 24)


def stage_durations(stages: list[dict[str, Any]], per_hour: float) -> list[dict[str, Any]]:
    """Return, per stage below 100 %, how long it needs at ``per_hour`` outcomes an hour: the longer
    of its soak time and the time to collect its minimum candidate outcomes at its percentage.

    Shape: ``[{"percentage", "soak_seconds", "min_outcomes", "outcome_seconds" (None without
    traffic), "seconds" (None without traffic)}]``.
    """
    rows = []
    for stage in stages:
        if int(stage["percentage"]) >= 100:
            continue
        soak = int(stage.get("min_soak_seconds", 0))
        need = int(stage.get("min_outcomes", 0))
        rate = per_hour * int(stage["percentage"]) / 100
        outcome_seconds = (need / rate * 3600) if rate > 0 else (0 if need == 0 else None)
        rows.append(
            {
                "percentage": int(stage["percentage"]),
                "soak_seconds": soak,
                "min_outcomes": need,
                "outcome_seconds": outcome_seconds,
                "seconds": None if outcome_seconds is None else max(soak, outcome_seconds),
            }
        )
    return rows


def metric_series(rollout: Rollout, points: int = 48) -> dict[str, Any]:
    """Return the outcome rates of stable and candidate since the rollout started, for charts.

    Shape: ``{"labels": [iso times], "bucket_seconds": s, "series": {metric: {"stable": [rate|None],
    "candidate": [...]}}, "samples": {"stable": [n], "candidate": [n]}}``. Counts are grouped by
    minute in the database and merged into ``points`` buckets here.
    """
    start = rollout.started_at
    end = rollout.ended_at or timezone.now()
    span = max((end - start).total_seconds(), 60.0)
    bucket_seconds = max(60, int(span // points) + 1)
    versions = {"stable": rollout.stable_version_id, "candidate": rollout.candidate_version_id}
    rows = (
        Outcome.objects.filter(version_id__in=versions.values(), recorded_at__gte=start, recorded_at__lte=end)
        .annotate(minute=TruncMinute("recorded_at"))
        .values("minute", "version_id", "outcome")
        .annotate(n=Count("id"))
    )
    buckets = int(span // bucket_seconds) + 1
    totals = {name: [0] * buckets for name in versions}
    events = {m: {name: [0] * buckets for name in versions} for m in EVENT_OF_METRIC}
    side_of = {vid: name for name, vid in versions.items()}
    for row in rows:
        index = min(buckets - 1, max(0, int((row["minute"] - start).total_seconds() // bucket_seconds)))
        name = side_of[row["version_id"]]
        totals[name][index] += row["n"]
        for metric, kind in EVENT_OF_METRIC.items():
            if row["outcome"] == kind:
                events[metric][name][index] += row["n"]
    series = {
        metric: {
            name: [(e / t) if t else None for e, t in zip(events[metric][name], totals[name], strict=True)]
            for name in versions
        }
        for metric in EVENT_OF_METRIC
    }
    labels = [(start + timedelta(seconds=i * bucket_seconds)).isoformat() for i in range(buckets)]
    return {"labels": labels, "bucket_seconds": bucket_seconds, "series": series, "samples": totals}
