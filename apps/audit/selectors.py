"""Reads of the audit trail: the filtered, keyset-paginated list, exports, per-SOP trails and
what agents were served."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Max, Min, Q, QuerySet

from .models import AuditAction, AuditEvent

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


def text_match(text: str) -> Q:
    """The auditor's free-text search: the reason, target label or SOP slug contain ``text``
    (case-insensitive), or the request id is exactly it."""
    return (
        Q(reason__icontains=text) | Q(target_label__icontains=text) | Q(sop_slug__icontains=text) | Q(request_id=text)
    )


def date_window_ids(since: datetime | None, until: datetime | None) -> tuple[int, int] | None:
    """Return the smallest and largest id of the events created in ``[since, until)`` (either
    end open when ``None``), or ``None`` when no event was.

    One aggregate read from the ``(created_at, id)`` index alone, so its cost is the window's
    size in index entries (a month of a million-event year: ~10 ms). ``id + 0`` keeps
    PostgreSQL from turning ``MIN``/``MAX`` into a primary-key scan with a filter, the plan this
    function exists to avoid.
    """
    window = AuditEvent.objects.order_by()
    if since:
        window = window.filter(created_at__gte=since)
    if until:
        window = window.filter(created_at__lt=until)
    bounds = window.aggregate(low=Min(F("id") + 0), high=Max(F("id") + 0))
    return None if bounds["low"] is None else (bounds["low"], bounds["high"])


def within_dates(events: QuerySet[AuditEvent], since: datetime | None, until: datetime | None) -> QuerySet[AuditEvent]:
    """Narrow ``events`` to those created in ``[since, until)`` (either end open when ``None``).

    Besides the date condition, each bounded side of the window also bounds the id: ``since``
    by the window's first id, ``until`` by its last (``date_window_ids``, one extra query). Ids
    and creation times rise together, so without these PostgreSQL reads a newest-first page of
    an old month by walking the primary key back from today through every newer event (185 ms
    warm, 1.9 s cold for the oldest month of a million events), and a filter with few matches
    walks on to the table's start; with them the walk starts and ends inside the window. The
    bounds are exact — they only exclude ids no event of the window has — so no event is left
    out. An open end gets no id bound, so events written after the bounds were read still show.
    """
    if not since and not until:
        return events
    ids = date_window_ids(since, until)
    if ids is None:
        return events.none()
    if since:
        events = events.filter(created_at__gte=since, id__gte=ids[0])
    if until:
        events = events.filter(created_at__lt=until, id__lte=ids[1])
    return events


def audit_event_search(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Return the events matching ``filters``, newest first (``-id``; each filter has an
    ``(field, -id)`` index, so a page is an index range scan whatever the table's size; a date
    range costs one more query, ``within_dates``)."""
    events = AuditEvent.objects.all()
    if filters.actor:
        events = events.filter(actor_label=filters.actor)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.sop:
        events = events.filter(sop_slug=filters.sop)
    if filters.category:
        events = events.filter(category=filters.category)
    events = within_dates(events, filters.since, filters.until)
    if filters.q:
        events = events.filter(text_match(filters.q))
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


_JSON_FIELDS = ("before", "after", "data")
_TIMESTAMP = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


FORMULA_START = r"^[=+\-@\t\r]"
"""A cell starting like this is read as a formula by spreadsheets (OWASP, "CSV Injection")."""


def _export_query(filters: AuditFilters, *, for_spreadsheet: bool = False) -> Any:
    """The export's rows as database-side text: timestamps in UTC ISO 8601, JSON columns as
    their JSON text, so nothing is decoded and re-encoded row by row in Python. With
    ``for_spreadsheet``, a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage
    return gets a leading ``'`` so a spreadsheet shows it as text instead of running it (OWASP's
    CSV-injection advice; JSON columns start with ``{``, ``[``, ``"`` or a letter and are left as they are)."""
    from django.db import connection
    from django.db.models import Case, CharField, F, Func, Q, TextField, Value, When
    from django.db.models.functions import Cast, Concat

    events = audit_event_search(filters)
    if connection.vendor == "postgresql":
        stamp = Func(
            Func(Value("UTC"), F("created_at"), function="timezone"),
            Value(_TIMESTAMP),
            function="to_char",
            output_field=TextField(),
        )
    else:  # SQLite stores UTC text
        stamp = Func(Value("%Y-%m-%dT%H:%M:%fZ"), F("created_at"), function="strftime", output_field=TextField())
    texts = {f"{name}_text": Cast(name, TextField()) for name in _JSON_FIELDS}
    events = events.annotate(created_text=stamp, **texts)
    renamed = {"created_at": "created_text", **{n: f"{n}_text" for n in _JSON_FIELDS}}
    if for_spreadsheet:
        plain = [
            name
            for name in EXPORT_FIELDS
            if name not in renamed and isinstance(AuditEvent._meta.get_field(name), CharField | TextField)
        ]
        safe = {
            f"{name}_safe": Case(
                When(Q(**{f"{name}__regex": FORMULA_START}), then=Concat(Value("'"), F(name))),
                default=F(name),
                output_field=TextField(),
            )
            for name in plain
        }
        events = events.annotate(**safe)
        renamed.update({name: f"{name}_safe" for name in plain})
    return events.values_list(*[renamed.get(name, name) for name in EXPORT_FIELDS])


def export_csv(filters: AuditFilters) -> Iterator[str]:
    """Yield the matching events as CSV text chunks (header first), cells that a spreadsheet
    would run as formulas neutralised (``_export_query``), streamed: on PostgreSQL
    by ``COPY (query) TO STDOUT`` (the server writes the CSV; ≈ 250,000 rows/s), elsewhere from
    a server-side cursor. Memory stays constant however many rows match."""
    from django.db import connection

    query = _export_query(filters, for_spreadsheet=True)
    if connection.vendor == "postgresql":
        sql, params = query.query.sql_with_params()
        yield ",".join(EXPORT_FIELDS) + "\r\n"
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
        ):
            for block in copy:
                yield bytes(block).decode("utf-8")
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    for n, row in enumerate(query.iterator(chunk_size=2000), 1):
        writer.writerow(["" if v is None else v for v in row])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_json(filters: AuditFilters) -> Iterator[str]:
    """Yield the matching events as one JSON array, streamed in chunks from a server-side
    cursor (constant memory); the JSON columns are embedded as the database's JSON text."""
    yield "["
    first = True
    chunk: list[str] = []
    for row in _export_query(filters).iterator(chunk_size=2000):
        parts = []
        for name, value in zip(EXPORT_FIELDS, row, strict=True):
            text = value if name in _JSON_FIELDS and value is not None else json.dumps(value, ensure_ascii=False)
            parts.append(f'"{name}":{text}')
        chunk.append(("" if first else ",") + "\n{" + ",".join(parts) + "}")
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


def categories_in_trail() -> list[str]:
    """Return the slugs of the categories the trail knows (those it recorded being created), sorted.

    Read from the trail itself (``category.create`` events, by the action index), so the audit
    app needs nothing of the apps it records."""
    return sorted(
        set(AuditEvent.objects.filter(action=AuditAction.CATEGORY_CREATE).values_list("target_label", flat=True))
    )
