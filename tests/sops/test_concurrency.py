"""Concurrent approvals on real PostgreSQL: counted once each, approved once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.sops import services
from apps.sops.models import VersionStatus
from tests.conftest import draft, sign
from tests.factories import CategoryFactory, SOPFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` in threads released at the same moment; return results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    close_old_connections()
    return results


def test_two_approvals_at_once__both_count__approved_once(people: dict[str, Any]) -> None:
    sop = SOPFactory(category=CategoryFactory(slug="billing", min_approvals=2), owner=people["author"])
    version = services.sop_version_submit(actor=people["author"], version=draft(sop, people["author"]))
    results = run_together(
        lambda: services.sop_version_approve(
            actor=people["reviewer"], signature=sign(people["reviewer"], "approve"), version=version, comment="a"
        ),
        lambda: services.sop_version_approve(
            actor=people["reviewer2"], signature=sign(people["reviewer2"], "approve"), version=version, comment="b"
        ),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    version.refresh_from_db()
    assert version.status == VersionStatus.APPROVED
    events = list(AuditEvent.objects.filter(action="version.approve").order_by("id"))
    assert [e.data["approvals"] for e in events] == [1, 2]
    assert [e.after["status"] for e in events] == ["in_review", "approved"]


def test_same_reviewer_twice_at_once__one_review(people: dict[str, Any]) -> None:
    sop = SOPFactory(category=CategoryFactory(slug="billing", min_approvals=2), owner=people["author"])
    version = services.sop_version_submit(actor=people["author"], version=draft(sop, people["author"]))
    results = run_together(
        *[
            lambda: services.sop_version_approve(
                actor=people["reviewer"], signature=sign(people["reviewer"], "approve"), version=version
            )
        ]
        * 2
    )
    assert sum(isinstance(r, ApplicationError) for r in results) == 1
    assert version.reviews.count() == 1
