"""Real Celery processes for tests that kill and restart workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.bridge.harness import ROOT


class Celery:
    """``celery -A sopgov <role>`` against the test database and Redis, ticking every second."""

    def __init__(self, role: str, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sopgov.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "SOPGOV_ROLLOUT_TICK_SECONDS": "1",
            **(extra_env or {}),
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
