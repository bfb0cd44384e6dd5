"""Reads for rollouts: outcome rates per version and window, gate results, chart series."""

from __future__ import annotations

import operator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMinute
from django.utils import timezone

from .models import ACTIVE_STATES, GateComparison, Outcome, Rollout, RolloutPlan

EVENT_OF_METRIC = {"escalation_rate": "escalated", "complaint_rate": "complaint", "error_rate": "error"}
_OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def default_plan() -> RolloutPlan | None:
    """Return the plan categories use when they name none."""
    return RolloutPlan.objects.filter(is_default=True).prefetch_related("stages__gates").first()


def plan_for_category(category: Any) -> RolloutPlan | None:
    """Return the category's plan, else the default plan."""
    if category.rollout_plan_id:
        return RolloutPlan.objects.prefetch_related("stages__gates").get(pk=category.rollout_plan_id)
    return default_plan()


def active_rollout(sop: Any) -> Rollout | None:
    """Return the SOP's running or paused rollout, or ``None``."""
    return Rollout.objects.filter(sop=sop, state__in=ACTIVE_STATES).first()


def rollout_list() -> QuerySet[Rollout]:
    """Return rollouts with SOP and versions, active first, newest first."""
    return Rollout.objects.select_related("sop__category", "stable_version", "candidate_version", "started_by")


def outcome_counts(version_id: int, since: datetime, until: datetime) -> dict[str, int]:
    """Return ``{outcome kind: count}`` for ``version_id`` in ``[since, until)`` (one indexed query)."""
    rows = (
        Outcome.objects.filter(version_id=version_id, recorded_at__gte=since, recorded_at__lt=until)
        .values("outcome")
        .annotate(n=Count("id"))
    )
    return {r["outcome"]: r["n"] for r in rows}


def gate_result(gate: dict[str, Any], rollout: Rollout, now: datetime) -> dict[str, Any]:
    """Evaluate one gate of ``rollout`` at ``now``; return the gate with its numbers and status.

    ``value`` is the candidate's rate (events / outcomes in the window) or, for a relative gate,
    that rate divided by stable's, each smoothed by Laplace's rule of succession
    ((events + 1) / (outcomes + 2)) so that a stable rate of zero does not divide by zero.
    ``status`` is ``inconclusive`` below ``min_samples`` candidate outcomes, else ``pass`` when
    ``value <operator> threshold`` holds and ``fail`` when it does not.
    """
    since = max(now - timedelta(seconds=int(gate["window_seconds"])), rollout.started_at)
    event = EVENT_OF_METRIC[gate["metric"]]

    def side(version_id: int) -> dict[str, Any]:
        counts = outcome_counts(version_id, since, now + timedelta(microseconds=1))
        n = sum(counts.values())
        events = counts.get(event, 0)
        return {"n": n, "events": events, "rate": (events / n) if n else None}

    candidate = side(rollout.candidate_version_id)
    result: dict[str, Any] = {**gate, "candidate": candidate, "since": since.isoformat()}
    if gate["comparison"] == GateComparison.RELATIVE:
        stable = side(rollout.stable_version_id)
        result["stable"] = stable
        smoothed = [(s["events"] + 1) / (s["n"] + 2) for s in (candidate, stable)]
        value = smoothed[0] / smoothed[1]
    else:
        value = candidate["rate"]
    result["value"] = value
    if candidate["n"] < int(gate["min_samples"]) or value is None:
        result["status"] = "inconclusive"
    else:
        result["status"] = "pass" if _OPERATORS[gate["operator"]](value, float(gate["threshold"])) else "fail"
    return result


def gate_results(rollout: Rollout, now: datetime | None = None) -> list[dict[str, Any]]:
    """Evaluate every gate of the rollout's current stage."""
    now = now or timezone.now()
    return [gate_result(g, rollout, now) for g in rollout.stage.get("gates", [])]


def served_counts(rollout: Rollout) -> dict[str, int]:
    """Return how many tool calls served the SOP since the rollout started: to the candidate, to
    stable with a routing key, and without a routing key (always stable). One query."""
    from apps.agents.models import ToolCall

    calls = ToolCall.objects.filter(sop_slug=rollout.sop.slug, called_at__gte=rollout.started_at)
    if rollout.ended_at:
        calls = calls.filter(called_at__lte=rollout.ended_at)
    counts = {"candidate": 0, "stable": 0, "no_routing_key": 0}
    for row in calls.values("variant", "routing_key").annotate(n=Count("id")):
        if row["variant"] == "canary":
            counts["candidate"] += row["n"]
        elif row["routing_key"]:
            counts["stable"] += row["n"]
        else:
            counts["no_routing_key"] += row["n"]
    return counts


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
