"""Real Celery beat and worker processes on Redis drive a rollout; killing and restarting them
mid-rollout loses nothing and decides nothing twice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.rollouts.models import Rollout
from apps.sops.models import SOPVersion
from tests.bridge.harness import wait_until
from tests.processes import Celery
from tests.releases.conftest import publish
from tests.rollouts.conftest import make_plan

pytestmark = pytest.mark.django_db(transaction=True)


def test_rollout__beat_and_worker_killed_mid_rollout__nothing_lost(
    candidate: SOPVersion, sop: Any, people: dict[str, Any], tmp_path: Path
) -> None:
    make_plan("quick", [(10, 3, 0), (50, 4, 0), (100, 0, 0)], [], sop.category)
    publish(candidate, people, reason="beat test")
    rollout = Rollout.objects.get()
    workers = [Celery("worker", tmp_path), Celery("beat", tmp_path)]
    try:
        wait_until(
            lambda: Rollout.objects.get().percentage == 50,
            timeout=40,
            interval=0.2,
            message="beat to advance the rollout to 50 %",
        )
        advanced_at = Rollout.objects.get().stage_started_at
        # Kill beat and the worker without warning, mid-stage
        for process in workers:
            process.kill()
        time.sleep(6)  # longer than the stage's soak: with nobody ticking, nothing may happen
        rollout.refresh_from_db()
        assert (rollout.state, rollout.percentage, rollout.stage_started_at) == ("running", 50, advanced_at)
        # Restarted, they pick up where the database says the rollout is
        workers += [Celery("worker", tmp_path), Celery("beat", tmp_path)]
        wait_until(
            lambda: Rollout.objects.get().state == "completed",
            timeout=40,
            interval=0.2,
            message="the restarted beat to complete the rollout",
        )
    finally:
        for process in workers:
            process.stop()
    decisions = list(
        AuditEvent.objects.filter(target_type="rollout").order_by("id").values_list("action", "actor_label")
    )
    assert decisions == [("rollout.start", "release"), ("rollout.advance", "system"), ("rollout.complete", "system")]
    candidate.refresh_from_db()
    assert candidate.status == "live"
