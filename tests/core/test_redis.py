"""Redis as broker and cache: a real worker delivers notifications; an outage loses nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.sops import services
from apps.sops.models import SOP
from sopgov.celery import app as celery_app
from tests.conftest import draft

pytestmark = pytest.mark.django_db(transaction=True)


def use_broker(url: str) -> None:
    """Point the Celery app at ``url``, dropping pooled connections to the previous broker."""
    from kombu import pools

    pools.reset()  # kombu keeps producer pools per connection, process-wide
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url


@pytest.fixture
def real_broker(settings: Any) -> Any:
    """Send tasks through the Redis broker instead of running them in-process."""
    previous = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    use_broker(settings.REDIS_URL)
    yield celery_app
    celery_app.conf.task_always_eager = previous[0]
    use_broker(previous[1])
    assert celery_app.conf.task_always_eager is True  # the rest of the suite runs tasks in-process


def test_submit__worker_on_redis__reviewers_emailed(real_broker: Any, sop: SOP, people: dict[str, Any]) -> None:
    with start_worker(real_broker, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        services.sop_version_submit(actor=people["author"], version=draft(sop, people["author"]))
        deadline = time.monotonic() + 15
        while not mail.outbox and time.monotonic() < deadline:
            time.sleep(0.1)
    assert len(mail.outbox) == 1
    assert "Review requested" in mail.outbox[0].subject


def test_submit__broker_down__change_saved_and_quick(
    real_broker: Any, sop: SOP, people: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    use_broker("redis://127.0.0.1:1/0")  # nothing listens there
    version = draft(sop, people["author"])
    started = time.monotonic()
    services.sop_version_submit(actor=people["author"], version=version)
    assert time.monotonic() - started < 10
    version.refresh_from_db()
    assert version.status == "in_review"
    assert "could not queue apps.sops.tasks.notify_review_requested" in caplog.text


def test_login_throttle__cache_down__fails_open(settings: Any, people: dict[str, Any]) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    response = APIClient().post("/api/v1/auth/token/", {"username": "author", "password": "pw"}, format="json")
    assert response.status_code == 200
    assert "token" in response.json()


def test_login_throttle__redis__limits_guessing(monkeypatch: pytest.MonkeyPatch, people: dict[str, Any]) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    cache.clear()
    statuses = [
        APIClient().post("/api/v1/auth/token/", {"username": "author", "password": "bad"}, format="json").status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [400, 400, 400]
    assert statuses[3:] == [429, 429]
