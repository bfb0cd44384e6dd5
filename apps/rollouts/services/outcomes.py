"""Recording how conversations ended (outcome signals), which the gates judge."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.errors import InvalidInput, NotFound
from apps.core.text import stored_text
from apps.sops.models import SOP, SOPVersion, VersionStatus
from mcp_bridge.bucketing import gets_canary

from ..models import ACTIVE_STATES, Outcome, OutcomeKind, OutcomeSource, Rollout

MAX_OUTCOMES_PER_BATCH = 5000


def _parse_time(value: Any, default: datetime) -> datetime:
    if value in (None, ""):
        return default
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise InvalidInput(f"{value!r} is not an ISO 8601 date-time.")
    return parsed


@dataclass
class OutcomesRecorded:
    """What ``outcomes_record`` stored: how many outcomes were new, the rejected records
    (``{"index", "error"}``) and the active rollouts whose candidate received new outcomes (for
    the release layer to re-evaluate)."""

    stored: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rollout_ids: list[int] = field(default_factory=list)


def outcomes_record(*, records: list[Any], source: OutcomeSource, reporter: str = "") -> OutcomesRecorded:
    """Store outcome records ``{outcome_id, recorded_at?, version_id, routing_key, outcome,
    reporter?}``; return what was stored and rejected, and which rollouts it concerns.

    Records are judged one by one: a malformed one (unknown outcome kind or version, bad id or
    time) is rejected with its reason, the others are stored. Re-sent records (same
    ``outcome_id``) count once.

    Raises:
        InvalidInput: not a list, or more than 5,000 records.
    """
    if not isinstance(records, list) or len(records) > MAX_OUTCOMES_PER_BATCH:
        raise InvalidInput(f"Outcomes must be a list of at most {MAX_OUTCOMES_PER_BATCH}.")
    now = timezone.now()
    wanted: set[int] = {
        r["version_id"] for r in records if isinstance(r, dict) and isinstance(r.get("version_id"), int)
    }
    sop_of = dict(SOPVersion.objects.filter(pk__in=wanted).values_list("pk", "sop_id"))
    rows: list[Outcome] = []
    rejected: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise ValueError("an outcome must be an object")
            kind = str(record.get("outcome"))
            if kind not in OutcomeKind.values:
                raise ValueError(f"outcome must be one of {', '.join(OutcomeKind.values)}, not {kind!r}")
            version_id = record.get("version_id")
            if version_id not in sop_of:
                raise ValueError(f"no version with id {version_id!r}")
            rows.append(
                Outcome(
                    outcome_id=uuid.UUID(str(record.get("outcome_id") or uuid.uuid4())),
                    recorded_at=_parse_time(record.get("recorded_at"), now),
                    sop_id=sop_of[version_id],
                    version_id=version_id,
                    routing_key=stored_text(record.get("routing_key"), 200, "routing_key"),
                    outcome=kind,
                    source=source,
                    reporter=stored_text(record.get("reporter") or reporter, 100, "reporter"),
                )
            )
        except (TypeError, ValueError, InvalidInput) as exc:
            rejected.append({"index": index, "error": getattr(exc, "message", None) or str(exc)})
    with transaction.atomic():
        known = set(
            Outcome.objects.filter(outcome_id__in=[r.outcome_id for r in rows]).values_list("outcome_id", flat=True)
        )
        new = [r for r in rows if r.outcome_id not in known]
        Outcome.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
        affected = list(
            Rollout.objects.filter(
                state__in=ACTIVE_STATES, candidate_version_id__in={r.version_id for r in new}
            ).values_list("pk", flat=True)
        )
    return OutcomesRecorded(stored=len(new), rejected=rejected, rollout_ids=affected)


def served_version(*, sop: SOP, routing_key: str) -> tuple[SOPVersion, int | None]:
    """Return the version a conversation with ``routing_key`` is served now, and its bucket
    (``None`` without a routing key or a canary) — the same rule as the bridge (``bucketing``).

    Raises:
        NotFound: nothing of the SOP is live.
    """
    live = SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).first()
    rollout = Rollout.objects.filter(sop=sop, state__in=ACTIVE_STATES).select_related("candidate_version").first()
    if rollout is not None and routing_key:
        canary, b = gets_canary(sop.salt, routing_key, rollout.percentage)
        return (rollout.candidate_version if canary else rollout.stable_version), b
    if live is None:
        raise NotFound(f"Nothing of {sop.slug} is live.")
    return live, None


def outcome_report(
    *,
    reporter: str,
    category: str,
    sop_key: str,
    routing_key: str,
    outcome: str,
    version: int | None = None,
    source: OutcomeSource = OutcomeSource.API,
) -> Outcome:
    """Record how one conversation ended. Without ``version``, the version that conversation is
    served now is assumed (sticky bucketing makes that the one it was served). Return the outcome.

    Raises:
        NotFound: no SOP ``category/sop_key``, or no such version.
        InvalidInput: unknown outcome kind, empty routing key.
    """
    sop = SOP.objects.filter(category__slug=category, key=sop_key).first()
    if sop is None:
        raise NotFound(f"No SOP {category}/{sop_key}.")
    if not routing_key or not str(routing_key).strip():
        raise InvalidInput(
            "routing_key (the conversation id) is required.", field_errors={"routing_key": ["Required."]}
        )
    if version is not None:
        chosen = sop.versions.filter(number=version).first()
        if chosen is None:
            raise NotFound(f"{sop.slug} has no version {version}.")
    else:
        chosen, _ = served_version(sop=sop, routing_key=routing_key)
    outcome_id = str(uuid.uuid4())
    record = {
        "outcome_id": outcome_id,
        "version_id": chosen.pk,
        "routing_key": routing_key,
        "outcome": outcome,
        "reporter": reporter,
    }
    recorded = outcomes_record(records=[record], source=source, reporter=reporter)
    if recorded.rejected:
        error = recorded.rejected[0]["error"]
        raise InvalidInput(error, field_errors={"outcome": [error]})
    return Outcome.objects.get(outcome_id=outcome_id)
