"""Reads of the release layer: what agents are served now (the bundle's payload) and were
served then (the auditor's "what did agents see?"), notices, and what a plan would take."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from apps.agents.selectors import calls_for_routing_key
from apps.publishing.selectors import served_at
from apps.rollouts.models import ACTIVE_STATES, Rollout
from apps.rollouts.selectors import outcomes_per_hour, plan_for_category, stage_durations
from apps.rollouts.services import plan_snapshot
from apps.sops.models import SOP, SOPVersion
from apps.sops.selectors import live_payload, version_entry
from mcp_bridge.bucketing import gets_canary

from .models import ReleaseNotice


def served_payload() -> dict[str, Any]:
    """Return the bundle payload (``mcp_bridge.bundle_format``) of what agents are served now:
    every live version (``sops.selectors.live_payload``) and, during a rollout, its canary with
    the percentage."""
    payload = live_payload()
    rollouts = {
        (r.sop.category.slug, r.sop.key): r
        for r in Rollout.objects.filter(state__in=ACTIVE_STATES).select_related("candidate_version", "sop__category")
    }
    for entry in payload["sops"]:
        rollout = rollouts.get((entry["category"], entry["key"]))
        if rollout is not None:
            entry["canary"] = {**version_entry(rollout.candidate_version), "percentage": rollout.percentage}
    return payload


def open_notices(user: Any) -> QuerySet[ReleaseNotice]:
    """Return ``user``'s notices not yet dismissed, newest first, with their rollout and SOP."""
    return ReleaseNotice.objects.filter(recipient_id=user.pk, dismissed_at__isnull=True).select_related(
        "rollout__sop__category", "rollout__candidate_version", "rollout__stable_version"
    )


def plan_preview(sop: SOP) -> dict[str, Any]:
    """Return the plan a new version of ``sop`` would follow and how long each stage needs at the
    SOP's traffic of the last 7 days: ``{"plan", "stages", "outcomes_per_hour", "durations"}``
    (``durations`` from ``rollouts.selectors.stage_durations``)."""
    plan = plan_for_category(sop.category)
    stages = plan_snapshot(plan)
    per_hour = outcomes_per_hour(sop)
    return {
        "plan": plan,
        "stages": stages,
        "outcomes_per_hour": per_hour,
        "durations": stage_durations(stages, per_hour),
    }


def what_agents_saw(*, sop_slug: str, at: datetime, routing_key: str) -> dict[str, Any]:
    """What agents were served, for the auditor's "what did agents see?" page.

    With ``sop_slug`` (``category/key``): ``served`` (``publishing.selectors.served_at``'s answer
    for ``at``, or ``None`` if nothing was published then), ``at``, and the ``stable_version`` and
    ``canary_version`` rows it names (``None`` when absent); with a ``routing_key`` as well and a
    canary then, ``conversation`` = ``(got_canary, bucket)`` by the bridge's own bucketing rule.
    With ``routing_key``: ``calls``, that conversation's tool calls
    (``agents.selectors.calls_for_routing_key``). Keys that do not apply are left out.
    """
    result: dict[str, Any] = {}
    if sop_slug:
        served = served_at(sop_slug, at)
        result["served"] = served
        result["at"] = at
        if served is not None:
            ids = [e["version_id"] for e in (served.stable, served.canary) if e and e.get("version_id")]
            versions = {v.pk: v for v in SOPVersion.objects.filter(pk__in=ids)}
            result["stable_version"] = versions.get(int((served.stable or {}).get("version_id") or 0))
            result["canary_version"] = versions.get(int((served.canary or {}).get("version_id") or 0))
            if routing_key and served.canary:
                result["conversation"] = gets_canary(served.salt, routing_key, served.canary["percentage"])
    if routing_key:
        result["calls"] = calls_for_routing_key(routing_key)
    return result
