"""Concurrent publishes on real PostgreSQL: one live version, one canary, a consistent trail and
a bundle that includes every change."""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.publishing.models import Publication
from apps.publishing.selectors import current_bundle
from apps.releases import services as releases
from apps.rollouts.models import Rollout
from apps.sops.models import SOPVersion
from tests.conftest import advance, assert_one_event_per_status_change, draft, sign
from tests.factories import CategoryFactory, SOPFactory
from tests.sops.test_concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_versions_published_at_once__one_live_one_canary(people: dict[str, Any]) -> None:
    # Given two approved versions of an SOP with nothing live yet
    sop = SOPFactory(category=CategoryFactory(slug="billing"), owner=people["author"])
    v1 = advance(draft(sop, people["author"], content="## one"), people, "approved")
    v2 = advance(draft(sop, people["author"], content="## two"), people, "approved")
    # When two release managers publish them at the same moment
    results = run_together(
        lambda: releases.release_publish(
            actor=people["release"], signature=sign(people["release"], "publish"), version=v1, reason="a"
        ),
        lambda: releases.release_publish(
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
    assert AuditEvent.objects.filter(action="version.go_live").count() == 1
    assert AuditEvent.objects.filter(action="version.canary_start").count() == 1
    assert AuditEvent.objects.filter(action="rollout.start").count() == 1
    assert_one_event_per_status_change()
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
            lambda: releases.release_publish(
                actor=people["release"], signature=sign(people["release"], "publish"), version=v1
            )
        ]
        * 2
    )
    assert sum(isinstance(r, ApplicationError) for r in results) == 1
    assert AuditEvent.objects.filter(action="version.go_live").count() == 1
    assert Publication.objects.count() == 1


def test_different_sops_published_at_once__bundle_has_all(
    people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given builds that pause after reading what is live, so unserialised builds would all
    # read before any commits (with the bundle-head lock they queue and the pause times out)
    from apps.releases.services import bundles

    original = bundles.served_payload
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
    monkeypatch.setattr(bundles, "served_payload", slow_payload)
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
                lambda v=v: releases.release_publish(
                    actor=people["release"], signature=sign(people["release"], "publish"), version=v
                )
            )
            for v in versions
        ]
    )
    assert not any(isinstance(r, Exception) for r in results), results
    bundle = current_bundle()
    assert bundle is not None and bundle.sop_count == 5
