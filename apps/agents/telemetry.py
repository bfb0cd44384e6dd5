"""Storing what bridges report: the tool calls they served, and preparing the outcomes.

Telemetry is accepted record by record: a malformed record is rejected with its reason and the
rest of the batch is stored, so one bad record can never make a bridge re-send (and so lose)
the others. Records already stored (same ``call_id``) are skipped. Outcomes — those agents
reported and the tool errors seen while serving a version — are resolved to versions here and
stored by the release layer (``apps.releases.services.outcomes``), which also re-evaluates the
rollouts they concern.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from apps.core.errors import InvalidInput
from apps.core.text import stored_text
from apps.sops.models import SOPVersion

from .models import AgentToken, ToolCall

MAX_RECORDS_PER_BATCH = 5000
MAX_QUESTION_CHARS = 2000


@dataclass
class TelemetryResult:
    """How many tool calls and outcomes were stored as new, and the records rejected
    (``{"kind", "index", "error"}``). ``error_outcomes`` (from failed calls) and
    ``agent_outcomes`` (``(index in the batch, record)``) are outcome records resolved to their
    version (``version_id``), for the release layer to store."""

    calls: int = 0
    outcomes: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    error_outcomes: list[dict[str, Any]] = field(default_factory=list)
    agent_outcomes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.calls + self.outcomes


def _parse_call(item: Any, bridge_id: str, token_ids: set[int]) -> ToolCall:
    if not isinstance(item, dict):
        raise ValueError("a tool call must be an object")
    called_at = parse_datetime(str(item["called_at"]))
    if called_at is None:
        raise ValueError("called_at is not an ISO 8601 date-time")
    token_id = item.get("token_id")
    bucket = item.get("bucket")
    if bucket is not None and not (isinstance(bucket, int) and 1 <= bucket <= 100):
        raise ValueError("bucket must be an integer from 1 to 100")
    return ToolCall(
        call_id=uuid.UUID(str(item["call_id"])),
        called_at=called_at,
        bridge_id=stored_text(bridge_id, 100, "bridge_id"),
        tool=stored_text(item["tool"], 64, "tool"),
        agent_token_id=token_id if token_id in token_ids else None,
        agent_name=stored_text(item.get("agent_name"), 100, "agent_name"),
        routing_key=stored_text(item.get("routing_key"), 200, "routing_key"),
        arguments_sha256=stored_text(item["arguments_sha256"], 64, "arguments_sha256"),
        sop_slug=stored_text(item.get("sop_slug"), 170, "sop_slug"),
        version_number=item.get("version") if isinstance(item.get("version"), int) else None,
        content_sha256=stored_text(item.get("content_sha256"), 64, "content_sha256"),
        bundle_sha256=stored_text(item.get("bundle_sha256"), 64, "bundle_sha256"),
        latency_ms=float(item["latency_ms"]),
        is_error=bool(item.get("is_error", False)),
        error=stored_text(item.get("error"), 500, "error"),
        bucket=bucket,
        variant=stored_text(item.get("variant"), 8, "variant"),
        question=stored_text(item.get("question"), MAX_QUESTION_CHARS, "question"),
    )


def _version_ids(pairs: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Return ``{("category/key", number): version id}`` for the pairs that exist."""
    slugs = {slug for slug, _ in pairs}
    found = {}
    for pk, category, key, number in SOPVersion.objects.filter(
        sop__key__in={s.split("/", 1)[-1] for s in slugs}
    ).values_list("pk", "sop__category__slug", "sop__key", "number"):
        slug = f"{category}/{key}"
        if (slug, number) in pairs:
            found[(slug, number)] = pk
    return found


def telemetry_record(*, bridge_id: str, calls: Any, outcomes: Any) -> TelemetryResult:
    """Store a bridge's batch of tool calls and resolve its outcomes to versions; return what was
    stored, rejected and left for the release layer to store (``error_outcomes``,
    ``agent_outcomes``).

    A tool call that ended in error while serving an SOP version also counts as an ``error``
    outcome of that version, so rollout gates see tool failures. Each agent token's
    ``last_used_at`` moves to its latest call. Call it inside the transaction that stores the
    outcomes.

    Raises:
        InvalidInput: ``calls`` or ``outcomes`` is not a list, or the batch holds more than 5,000.
    """
    if not isinstance(calls, list) or not isinstance(outcomes, list):
        raise InvalidInput("'calls' and 'outcomes' must be lists.")
    if len(calls) + len(outcomes) > MAX_RECORDS_PER_BATCH:
        raise InvalidInput(f"At most {MAX_RECORDS_PER_BATCH} records per batch.")
    result = TelemetryResult()
    token_ids = set(
        AgentToken.objects.filter(
            pk__in={c["token_id"] for c in calls if isinstance(c, dict) and isinstance(c.get("token_id"), int)}
        ).values_list("pk", flat=True)
    )
    rows: list[ToolCall] = []
    for index, item in enumerate(calls):
        try:
            rows.append(_parse_call(item, bridge_id, token_ids))
        except (KeyError, ValueError, TypeError) as exc:
            result.rejected.append({"kind": "call", "index": index, "error": f"{exc.__class__.__name__}: {exc}"})
    wanted: set[tuple[str, int]] = set()
    for o in outcomes:
        if isinstance(o, dict) and isinstance(o.get("version"), int):
            wanted.add((f"{o.get('category')}/{o.get('sop_key')}", o["version"]))
    for row in rows:
        if row.is_error and row.sop_slug and row.version_number:
            wanted.add((row.sop_slug, row.version_number))
    version_ids = _version_ids(wanted)
    outcome_records: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(outcomes):
        if not isinstance(item, dict):
            result.rejected.append({"kind": "outcome", "index": index, "error": "an outcome must be an object"})
            continue
        key = (f"{item.get('category')}/{item.get('sop_key')}", item.get("version"))
        if key not in version_ids:
            result.rejected.append({"kind": "outcome", "index": index, "error": f"no version {key[1]} of {key[0]}"})
            continue
        outcome_records.append((index, {**item, "version_id": version_ids[key]}))  # type: ignore[index]
    with transaction.atomic():
        known = set(ToolCall.objects.filter(call_id__in=[r.call_id for r in rows]).values_list("call_id", flat=True))
        new_rows = [r for r in rows if r.call_id not in known]
        ToolCall.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=1000)
        result.calls = len(new_rows)
        latest: dict[int, datetime] = {}
        for row in rows:
            if row.agent_token_id is not None:
                seen = latest.get(row.agent_token_id)
                latest[row.agent_token_id] = row.called_at if seen is None else max(seen, row.called_at)
        for token_id, when in latest.items():
            AgentToken.objects.filter(pk=token_id).exclude(last_used_at__gte=when).update(last_used_at=when)
        result.error_outcomes = [
            {
                "outcome_id": str(r.call_id),
                "recorded_at": r.called_at.isoformat(),
                "routing_key": r.routing_key,
                "outcome": "error",
                "reporter": r.agent_name,
                "version_id": version_ids[(r.sop_slug, r.version_number or 0)],
            }
            for r in new_rows
            if r.is_error and (r.sop_slug, r.version_number or 0) in version_ids
        ]
        result.agent_outcomes = outcome_records
    return result
