"""The auditor's workspace at scale: 1,000,000 audit events and 1,000,000 tool calls.

Builds a throw-away PostgreSQL database (``sopgov_bench_audit`` on ``DATABASE_URL``'s server),
fills it with a valid hash chain of audit events (500 SOPs in 20 categories, 30 actors, the
real action mix) and a tool-call log (100,000 conversations), then measures, first at 10,000
events and again at 1,000,000 (side by side, same run):

* the filtered audit list (the auditor's page, rendered by the real view through Django's test
  client: server time, median of 15) for several filter combinations, and its query count;
* streaming the CSV export (wall time, rows/s, peak Python memory by ``tracemalloc``);
* ``verify_audit``'s walk of the whole chain;
* "what did agents see" for one conversation.

    python bench/audit_scale.py [--events 1000000] [--calls 1000000]

Targets (issue 5): list ≤ 300 ms median, queries not growing with the data, export in
constant memory, verification ≤ 60 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "sopgov_bench_audit"
ACTIONS = [  # roughly the mix a busy deployment writes
    ("bundle.publish", 18),
    ("version.create", 12),
    ("version.edit", 10),
    ("version.submit", 9),
    ("version.approve", 12),
    ("version.go_live", 6),
    ("version.supersede", 5),
    ("rollout.start", 5),
    ("rollout.advance", 8),
    ("rollout.complete", 4),
    ("rollout.rollback", 1),
    ("sop.update", 4),
    ("version.reject", 2),
    ("sop.review", 2),
    ("signature.refused", 1),
    ("token.issue", 1),
]


def setup_database() -> None:
    import psycopg

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    server = base.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    os.environ["DATABASE_URL"] = f"{server}/{BENCH_DB}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "sopgov.settings.test"  # DEBUG off: no query log growing
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_events(start: int, count: int, users: dict[str, int], rng: random.Random) -> None:
    """Append ``count`` sealed events after ``start`` with COPY, chaining hashes as the app does."""
    from django.db import connection
    from psycopg.types.json import Jsonb

    from apps.audit.chain import HASHED_FIELDS, event_hash
    from apps.audit.models import AuditChainHead

    head = AuditChainHead.objects.get_or_create(pk=1)[0]
    prev = head.hash
    actions = [a for a, w in ACTIONS for _ in range(w)]
    actors = list(users)
    t0 = datetime(2025, 11, 1, tzinfo=UTC)
    columns = (*HASHED_FIELDS, "seq", "prev_hash", "hash")
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY audit_auditevent ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for i in range(start + 1, start + count + 1):
            category = f"cat{rng.randrange(20):02d}"
            slug = f"{category}/sop_{rng.randrange(25):02d}"
            actor = rng.choice(actors)
            action = rng.choice(actions)
            signed = action in ("version.approve", "version.go_live", "sop.review")
            data: dict[str, Any] = {"approvals": 1} if action == "version.approve" else {}
            if signed:
                data["signature"] = {
                    "signer": actor,
                    "meaning": "approved",
                    "method": "password",
                    "content_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                }
            row = {
                "id": i,
                "created_at": t0 + timedelta(seconds=i * 31),
                "actor_id": users[actor],
                "actor_label": actor,
                "action": action,
                "target_type": "sopversion",
                "target_id": str(i % 9973),
                "target_label": f"{slug} v{i % 40 + 1}",
                "sop_slug": slug,
                "category": category,
                "before": {"status": "in_review"},
                "after": {"status": "approved"},
                "reason": rng.choice(["", "", "typo fix", "new refund rules", "legal review", "customer complaints"]),
                "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "data": data,
            }
            digest = event_hash(row, i, prev)
            values = [Jsonb(row[name]) if name in ("before", "after", "data") else row[name] for name in HASHED_FIELDS]
            copy.write_row([*values, i, prev, digest])
            prev = digest
    head.seq, head.hash = start + count, prev
    head.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('audit_auditevent_id_seq', %s)", [start + count])
        # What autovacuum does to an insert-only table (PostgreSQL >= 13): statistics, and the
        # visibility map that lets index-only scans skip the heap.
        cursor.execute("VACUUM (ANALYZE) audit_auditevent")


def build_calls(count: int, rng: random.Random) -> None:
    from django.db import connection

    t0 = datetime(2025, 11, 1, tzinfo=UTC)
    columns = (
        "call_id",
        "called_at",
        "bridge_id",
        "tool",
        "agent_name",
        "routing_key",
        "arguments_sha256",
        "sop_slug",
        "version_number",
        "content_sha256",
        "bundle_sha256",
        "latency_ms",
        "is_error",
        "error",
        "bucket",
        "variant",
    )
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY agents_toolcall ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for i in range(count):
            copy.write_row(
                [
                    uuid.UUID(int=rng.getrandbits(128)),
                    t0 + timedelta(seconds=i * 30),
                    "bridge-1",
                    "get_sop_for_question",
                    "triage",
                    f"conv-{rng.randrange(100_000):06d}",
                    "0" * 64,
                    f"cat{rng.randrange(20):02d}/sop_{rng.randrange(25):02d}",
                    rng.randrange(1, 40),
                    "c" * 64,
                    "b" * 64,
                    2.5,
                    False,
                    "",
                    rng.randrange(1, 101),
                    "stable",
                ]
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE agents_toolcall")


FILTERS = {
    "no filter (newest 50)": "",
    "action": "?action=version.approve",
    "SOP": "?sop=cat07%2Fsop_13",
    "category + action": "?category=cat03&action=rollout.advance",
    "actor + date range": "?actor=user07&since=2026-03-01T00%3A00&until=2026-04-01T00%3A00",
    "one month": "?since=2026-03-01T00%3A00&until=2026-04-01T00%3A00",
    "oldest month": "?since=2025-11-01T00%3A00&until=2025-12-01T00%3A00",
    "actor + oldest month": "?actor=user07&since=2025-11-01T00%3A00&until=2025-12-01T00%3A00",
    "since a date (newest)": "?since=2026-10-01T00%3A00",
    "free text, common": "?q=legal+review",
    "free text, no match": "?q=no-such-phrase",
    "page 3 of an SOP": None,  # keyset: filled in at run time
}


DATE_FILTERS = ("actor + date range", "one month", "oldest month", "actor + oldest month", "since a date (newest)")
"""Filters with a date range; measured again without the id clamp (``measure_unclamped``)."""


def measure_list(client: Any, only: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results = []
    for name, query in FILTERS.items():
        if only is not None and name not in only:
            continue
        if query is None:  # follow "Older" twice from the SOP filter
            html = client.get("/admin/audit/auditevent/?sop=cat07%2Fsop_13").content.decode()
            for _ in range(2):
                match = re.search(r'href="([^"]+)" id="older"', html)
                query = match.group(1).replace("&amp;", "&") if match else "?sop=cat07%2Fsop_13"
                html = client.get("/admin/audit/auditevent/" + query).content.decode()
        url = "/admin/audit/auditevent/" + query
        client.get(url)  # warm
        times = []
        for _ in range(15):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results.append(
            {
                "filter": name,
                "median_ms": round(statistics.median(times), 1),
                "p90_ms": round(sorted(times)[int(0.9 * (len(times) - 1))], 1),
                "queries": len(queries),
            }
        )
    return results


def measure_export() -> dict[str, Any]:
    """Stream the whole trail as CSV: once for time, once under ``tracemalloc`` for peak memory
    (tracing slows Python down, so the two are not measured together)."""
    from apps.audit.selectors import AuditFilters, export_csv

    started = time.perf_counter()
    size = rows = 0
    for chunk in export_csv(AuditFilters()):
        size += len(chunk)
        rows += chunk.count("\n")
    seconds = time.perf_counter() - started
    tracemalloc.start()
    for _chunk in export_csv(AuditFilters()):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rows": rows - 1,
        "seconds": round(seconds, 1),
        "rows_per_s": int((rows - 1) / seconds),
        "mb": round(size / 1e6, 1),
        "peak_python_mb": round(peak / 1e6, 2),
    }


def measure_unclamped(client: Any) -> list[dict[str, Any]]:
    """Measure the date filters as they ran before ``within_dates`` clamped the id range (the
    date condition alone), on the same data in the same run: the baseline."""
    from unittest import mock

    def dates_only(events: Any, since: Any, until: Any) -> Any:
        if since:
            events = events.filter(created_at__gte=since)
        if until:
            events = events.filter(created_at__lt=until)
        return events

    with mock.patch("apps.audit.selectors.within_dates", dates_only):
        return measure_list(client, only=DATE_FILTERS)


def measure_verify() -> dict[str, Any]:
    from apps.audit.verification import audit_chain_walk

    report = audit_chain_walk()
    return {"intact": report.intact, "checked": report.checked, "seconds": round(report.seconds, 1)}


def measure_conversation(client: Any) -> dict[str, Any]:
    times = []
    for _ in range(10):
        started = time.perf_counter()
        client.get("/admin/audit/auditevent/agents-saw/?routing_key=conv-004242")
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(times), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    setup_database()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from apps.accounts.roles import AUDITOR

    rng = random.Random(20261121)
    users = {}
    for n in range(30):
        user = get_user_model().objects.create(username=f"user{n:02d}")
        users[user.username] = user.pk
    auditor = get_user_model().objects.create(username="bench-auditor", is_staff=True)
    auditor.groups.add(Group.objects.get(name=AUDITOR))
    client = Client()
    client.force_login(auditor)

    out: dict[str, Any] = {"events": {}, "list": {}, "export": {}, "verify": {}}
    small = min(10_000, args.events)
    print(f"building {small:,} audit events …", flush=True)
    started = time.perf_counter()
    build_events(0, small, users, rng)
    out["list"][small] = measure_list(client)
    out["export"][small] = measure_export()
    out["verify"][small] = measure_verify()
    print(f"building {args.events - small:,} more audit events and {args.calls:,} tool calls …", flush=True)
    build_events(small, args.events - small, users, rng)
    build_calls(args.calls, rng)
    out["build_seconds"] = round(time.perf_counter() - started, 1)
    out["list"][args.events] = measure_list(client)
    out["unclamped"] = measure_unclamped(client)
    out["export"][args.events] = measure_export()
    out["verify"][args.events] = measure_verify()
    out["conversation"] = measure_conversation(client)

    print(f"\nfiltered audit list (server time, median of 15; queries per page) at {small:,} vs {args.events:,} events")
    print(f"{'filter':<24} {'ms @small':>10} {'q':>3} {'ms @large':>10} {'p90':>7} {'q':>3}")
    for a, b in zip(out["list"][small], out["list"][args.events], strict=True):
        print(
            f"{a['filter']:<24} {a['median_ms']:>10} {a['queries']:>3} {b['median_ms']:>10} {b['p90_ms']:>7} {b['queries']:>3}"
        )
    print(f"\ndate filters at {args.events:,} events: date condition alone (baseline) vs clamped id range")
    clamped = {r["filter"]: r for r in out["list"][args.events]}
    for r in out["unclamped"]:
        c = clamped[r["filter"]]
        print(
            f"{r['filter']:<24} baseline {r['median_ms']:>8} ms ({r['queries']} q)   clamped {c['median_ms']:>8} ms ({c['queries']} q)"
        )
    for n in (small, args.events):
        e, v = out["export"][n], out["verify"][n]
        print(
            f"\n{n:>9,} events: CSV export {e['rows']:,} rows in {e['seconds']} s ({e['rows_per_s']:,}/s, "
            f"{e['mb']} MB), peak Python memory {e['peak_python_mb']} MB; "
            f"verify {'intact' if v['intact'] else 'BROKEN'} ({v['checked']:,}) in {v['seconds']} s"
        )
    print(
        f"\nwhat agents saw, one conversation among {args.calls:,} tool calls: {out['conversation']['median_ms']} ms median"
    )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "audit_scale.json").write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
