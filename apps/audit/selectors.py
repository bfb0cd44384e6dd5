"""Reads of the audit trail: the filtered, keyset-paginated list, exports and per-SOP trails."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from .models import AuditEvent

PAGE_SIZE = 50
EXPORT_FIELDS = (
    "id",
    "seq",
    "created_at",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "sop_slug",
    "category",
    "reason",
    "before",
    "after",
    "data",
    "request_id",
    "prev_hash",
    "hash",
)
"""Columns of the CSV and JSON exports, in order (``data`` holds e-signatures)."""


@dataclass(frozen=True)
class AuditFilters:
    """What an auditor filters the trail by; every field optional. ``sop`` is ``category/key``;
    ``q`` searches reasons, target labels, SOP slugs and request ids; ``since`` inclusive,
    ``until`` exclusive."""

    actor: str = ""
    action: str = ""
    sop: str = ""
    category: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""


def audit_event_list() -> QuerySet[AuditEvent]:
    """Return audit events, newest first."""
    return AuditEvent.objects.order_by("-id")


def audit_event_search(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Return the events matching ``filters``, newest first (``-id``; each filter has an
    ``(field, -id)`` index, so a page is an index range scan whatever the table's size)."""
    events = AuditEvent.objects.all()
    if filters.actor:
        events = events.filter(actor_label=filters.actor)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.sop:
        events = events.filter(sop_slug=filters.sop)
    if filters.category:
        events = events.filter(category=filters.category)
    if filters.since:
        events = events.filter(created_at__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__lt=filters.until)
    if filters.q:
        events = events.filter(
            Q(reason__icontains=filters.q)
            | Q(target_label__icontains=filters.q)
            | Q(sop_slug__icontains=filters.q)
            | Q(request_id=filters.q)
        )
    return events.order_by("-id")


def audit_page(
    filters: AuditFilters, before: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[AuditEvent], int | None]:
    """Return one page of matching events older than id ``before`` (newest first) and the id to
    pass as ``before`` for the next page (``None`` on the last). Keyset pagination: no COUNT,
    no OFFSET, one query, so the cost does not grow with the table."""
    events = audit_event_search(filters)
    if before is not None:
        events = events.filter(id__lt=before)
    rows = list(events[: size + 1])
    return rows[:size], (rows[size - 1].pk if len(rows) > size else None)


def _export_rows(filters: AuditFilters) -> Iterator[tuple[Any, ...]]:
    yield from audit_event_search(filters).values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "" if value is None else value


def export_csv(filters: AuditFilters) -> Iterator[str]:
    """Yield the matching events as CSV text chunks (header first), streaming from a server-side
    cursor: memory stays constant however many rows match."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    for n, row in enumerate(_export_rows(filters), 1):
        writer.writerow([_cell(v) for v in row])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_json(filters: AuditFilters) -> Iterator[str]:
    """Yield the matching events as one JSON array, streamed in chunks (constant memory)."""
    yield "["
    first = True
    chunk: list[str] = []
    for row in _export_rows(filters):
        record = {
            name: (v.isoformat() if isinstance(v, datetime) else v) for name, v in zip(EXPORT_FIELDS, row, strict=True)
        }
        chunk.append(("" if first else ",") + "\n" + json.dumps(record, sort_keys=True, ensure_ascii=False))
        first = False
        if len(chunk) == 500:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk) + "\n]\n"


def sop_trail(sop_slug: str, limit: int = 50) -> list[AuditEvent]:
    """Return the newest ``limit`` audit events about the SOP ``category/key``."""
    return list(AuditEvent.objects.filter(sop_slug=sop_slug).order_by("-id")[:limit])


def sop_timeline(sop_slug: str, limit: int = 1000) -> list[AuditEvent]:
    """Return the SOP's history oldest first: versions, reviews and their e-signatures,
    publishes, rollouts and their decisions, bundles, periodic reviews (at most ``limit``)."""
    return list(reversed(AuditEvent.objects.filter(sop_slug=sop_slug).order_by("-id")[:limit]))
