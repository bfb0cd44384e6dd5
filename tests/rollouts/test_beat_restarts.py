"""Real Celery beat and worker processes on Redis drive a rollout; killing and restarting them
mid-rollout loses nothing and decides nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from apps.audit.models import AuditEvent
from apps.rollouts.models import Rollout
from apps.sops import services
from apps.sops.models import SOPVersion
from tests.bridge.harness import ROOT, wait_until
from tests.rollouts.conftest import make_plan

pytestmark = pytest.mark.django_db(transaction=True)


class Celery:
    """``celery -A sopgov <role>`` against the test database and Redis, ticking every second."""

    def __init__(self, role: str, workdir: Path) -> None:
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sopgov.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "SOPGOV_ROLLOUT_TICK_SECONDS": "1",
        }
        args = {
            "worker": ["worker", "--pool", "solo", "--loglevel", "INFO"],
            "beat": ["beat", "--loglevel", "INFO", "--schedule", str(workdir / "beat-schedule")],
        }[role]
        self.log = (workdir / f"{role}.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "sopgov", *args],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def test_rollout__beat_and_worker_killed_mid_rollout__nothing_lost(
    candidate: SOPVersion, sop: Any, people: dict[str, Any], tmp_path: Path
) -> None:
    make_plan("quick", [(10, 3), (50, 4), (100, 0)], [], sop.category)
    services.sop_version_publish(actor=people["release"], version=candidate, reason="beat test")
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
