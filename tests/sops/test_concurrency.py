"""Concurrent approvals and publishes on real PostgreSQL: one live version, a consistent trail."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.publishing.models import Publication
from apps.publishing.selectors import current_bundle
from apps.rollouts.models import Rollout
from apps.sops import services
from apps.sops.models import SOPVersion, VersionStatus
from tests.conftest import advance, draft, sign
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


def test_two_versions_published_at_once__one_live_one_canary(people: dict[str, Any]) -> None:
    # Given two approved versions of an SOP with nothing live yet
    sop = SOPFactory(category=CategoryFactory(slug="billing"), owner=people["author"])
    v1 = advance(draft(sop, people["author"], content="## one"), people, "approved")
    v2 = advance(draft(sop, people["author"], content="## two"), people, "approved")
    # When two release managers publish them at the same moment
    results = run_together(
        lambda: services.sop_version_publish(
            actor=people["release"], signature=sign(people["release"], "publish"), version=v1, reason="a"
        ),
        lambda: services.sop_version_publish(
            actor=people["admin"], signature=sign(people["admin"], "publish"), version=v2, reason="b"
        ),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    # Then the first to commit is live and the other starts a rollout from it: one live, one canary
    statuses = dict(SOPVersion.objects.filter(sop=sop).values_list("number", "status"))
    assert sorted(statuses.values()) == ["canary", "live"]
    live_number = next(n for n, s in statuses.items() if s == "live")
    rollout = Rollout.objects.get(sop=sop)
    assert (rollout.state, rollout.stable_version.number) == ("running", live_number)
    assert AuditEvent.objects.filter(action="version.publish").count() == 2
    assert AuditEvent.objects.filter(action="rollout.start").count() == 1
    # And the current bundle serves the live one with the other as its canary
    bundle = current_bundle()
    assert bundle is not None
    payload = json.loads(bundle.payload)
    assert payload["sops"][0]["version"] == live_number
    assert payload["sops"][0]["canary"]["percentage"] == 5
    assert Publication.objects.count() == 2


def test_same_version_published_twice_at_once__one_succeeds(people: dict[str, Any]) -> None:
    sop = SOPFactory(category=CategoryFactory(slug="billing"), owner=people["author"])
    v1 = advance(draft(sop, people["author"]), people, "approved")
    results = run_together(
        *[
            lambda: services.sop_version_publish(
                actor=people["release"], signature=sign(people["release"], "publish"), version=v1
            )
        ]
        * 2
    )
    assert sum(isinstance(r, ApplicationError) for r in results) == 1
    assert AuditEvent.objects.filter(action="version.publish").count() == 1
    assert Publication.objects.count() == 1


def test_different_sops_published_at_once__bundle_has_all(
    people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given builds that pause after reading what is live, so unserialised builds would all
    # read before any commits (with the bundle-head lock they queue and the pause times out)
    from apps.publishing import services as publishing_services

    original = publishing_services.bundle_payload_from_live_versions
    pause = threading.Barrier(4)

    def slow_payload() -> dict[str, Any]:
        payload = original()
        with contextlib.suppress(threading.BrokenBarrierError):
            pause.wait(timeout=0.5)
        return payload

    category = CategoryFactory(slug="billing")
    advance(
        draft(SOPFactory(category=category, key="already_live", owner=people["author"]), people["author"]),
        people,
        "live",
    )
    monkeypatch.setattr(publishing_services, "bundle_payload_from_live_versions", slow_payload)
    versions = [
        advance(
            draft(SOPFactory(category=category, key=f"sop_{i}", owner=people["author"]), people["author"]),
            people,
            "approved",
        )
        for i in range(4)
    ]
    results = run_together(
        *[
            (
                lambda v=v: services.sop_version_publish(
                    actor=people["release"], signature=sign(people["release"], "publish"), version=v
                )
            )
            for v in versions
        ]
    )
    assert not any(isinstance(r, Exception) for r in results), results
    bundle = current_bundle()
    assert bundle is not None and bundle.sop_count == 5
