"""Helpers for release-layer tests: publish a candidate, press a control, report outcomes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from apps.publishing.selectors import current_bundle
from apps.releases import services
from apps.rollouts.models import OutcomeSource, Rollout, RolloutPlan
from apps.rollouts.services import outcomes_record
from apps.sops.models import SOPVersion
from tests.conftest import sign


def publish(version: SOPVersion, people: dict[str, Any], **kwargs: Any) -> SOPVersion:
    """Publish ``version`` as the release manager, signed."""
    kwargs.setdefault("reason", "go")
    return services.release_publish(
        actor=people["release"], signature=sign(people["release"], "publish"), version=version, **kwargs
    )


def control(name: str, rollout: Rollout, user: Any, reason: str = "because") -> Rollout:
    """Press rollout control ``name`` as ``user``, signing when the control is e-signed."""
    from apps.rollouts.permissions import SIGNED_CONTROLS

    extra = {"signature": sign(user, f"rollout_{name}")} if name in SIGNED_CONTROLS else {}
    return services.ROLLOUT_CONTROLS[name](actor=user, rollout=rollout, reason=reason, **extra)


def report(version: SOPVersion, outcome: str, n: int) -> None:
    """Store ``n`` outcomes ``outcome`` of ``version``, each from its own conversation."""
    records = [
        {
            "outcome_id": str(uuid.uuid4()),
            "version_id": version.pk,
            "routing_key": f"conv-{uuid.uuid4()}",
            "outcome": outcome,
        }
        for _ in range(n)
    ]
    for start in range(0, n, 5000):
        recorded = outcomes_record(records=records[start : start + 5000], source=OutcomeSource.AGENT)
        assert (recorded.stored, recorded.rejected) == (len(records[start : start + 5000]), [])


def bundle_entry(slug: str) -> dict[str, Any]:
    """Return the current bundle's entry for ``category/key``."""
    bundle = current_bundle()
    assert bundle is not None
    return next(e for e in json.loads(bundle.payload)["sops"] if f"{e['category']}/{e['key']}" == slug)


@pytest.fixture
def rollout(candidate: SOPVersion, fast_plan: RolloutPlan, people: dict[str, Any]) -> Rollout:
    """A running rollout of ``candidate`` (v2) from v1 through ``fast_plan`` (10 → 50 → 100 %)."""
    publish(candidate, people, reason="start")
    return Rollout.objects.get()
