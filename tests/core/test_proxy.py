"""deploy/nginx.conf in front of gunicorn: stalled clients hold no worker and are dropped.

gunicorn's sync worker reads each request itself, so one client that stops half-way through its
headers holds the worker until gunicorn's ``--timeout``. These tests run the shipped nginx
configuration (its upstreams and ports pointed at local processes) in front of a one-worker
gunicorn and show that stalled clients no longer block anyone, and are cut off after nginx's
``client_header_timeout`` / ``client_body_timeout`` (10 s).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from tests.bridge.harness import ROOT, free_port, http_status, wait_until
from tests.nginx import running_nginx, shipped_conf

# pytest-django creates the test database only when a collected test asks for one; the app
# processes started here read it (``SELECT 1`` for /healthz).
pytestmark = pytest.mark.django_db

CLIENT_TIMEOUT_S = 10  # client_header_timeout and client_body_timeout in deploy/nginx.conf


@pytest.fixture(scope="module")
def proxied_app(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """One sync gunicorn worker on the test database, and nginx with the shipped config in front."""
    web_port, web_listen, bridge_listen = free_port(), free_port(), free_port()
    site = shipped_conf(
        {"web:8000": f"127.0.0.1:{web_port}", "bridge-a:8001": "127.0.0.1:1", "bridge-b:8001": "127.0.0.1:1"},
        {8000: f"127.0.0.1:{web_listen}", 8001: f"127.0.0.1:{bridge_listen}"},
    )
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sopgov.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    with running_nginx(site) as work:
        log = (work / "gunicorn.log").open("w")
        app = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "sopgov.wsgi",
                "-b",
                f"127.0.0.1:{web_port}",
                "-w",
                "1",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        urls = {"direct": f"http://127.0.0.1:{web_port}", "proxied": f"http://127.0.0.1:{web_listen}"}
        try:
            for url in urls.values():
                wait_until(lambda url=url: _healthz(url, timeout=2) == 200, timeout=30, message=f"{url}/healthz")
            yield urls
        finally:
            app.terminate()
            app.wait(15)
            log.close()


def _healthz(url: str, timeout: float) -> int | None:
    return http_status(url + "/healthz", timeout)


def _stalled(url: str, payload: bytes) -> socket.socket:
    """A connection that sends ``payload`` (an unfinished request) and then nothing."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(payload)
    return sock


HALF_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
HALF_BODY = b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4000\r\n\r\nusername="


def _closed_after(sock: socket.socket, at_most: float) -> None:
    """Wait until the peer closes ``sock`` (a 408 reply may come first); fail after ``at_most`` s."""
    sock.settimeout(at_most)
    try:
        while data := sock.recv(4096):
            assert data.startswith(b"HTTP/1.1 408"), data[:200]
    except TimeoutError:
        pytest.fail(f"a stalled client was still connected after {at_most} s")
    except ConnectionResetError:
        pass


def test_stalled_clients__proxied__others_served_and_stalled_ones_dropped(proxied_app: dict[str, str]) -> None:
    started = time.monotonic()
    stalled = [_stalled(proxied_app["proxied"], HALF_HEADERS) for _ in range(10)]
    stalled += [_stalled(proxied_app["proxied"], HALF_BODY) for _ in range(10)]
    try:
        # 20 stalled clients and one sync worker: everyone else is still answered at once
        for _ in range(5):
            asked = time.monotonic()
            assert _healthz(proxied_app["proxied"], timeout=3) == 200
            assert time.monotonic() - asked < 2
        # and nginx cuts the stalled ones off after its client timeouts, not later
        closed_at = []
        for sock in stalled:
            _closed_after(sock, at_most=CLIENT_TIMEOUT_S + 10)
            closed_at.append(time.monotonic() - started)
        assert min(closed_at) >= CLIENT_TIMEOUT_S - 1 and max(closed_at) <= CLIENT_TIMEOUT_S + 5, closed_at
    finally:
        for sock in stalled:
            sock.close()


def test_stalled_client__gunicorn_faced_directly__holds_the_only_worker(proxied_app: dict[str, str]) -> None:
    """Why the proxy is there: the same stall sent to gunicorn itself blocks every other client."""
    sock = _stalled(proxied_app["direct"], HALF_HEADERS)
    try:
        assert _healthz(proxied_app["direct"], timeout=2) is None
    finally:
        sock.close()
    wait_until(lambda: _healthz(proxied_app["direct"], timeout=2) == 200, timeout=10, message="the worker to recover")
