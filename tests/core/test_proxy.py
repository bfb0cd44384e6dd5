"""deploy/nginx.conf in front of gunicorn: stalled clients hold no worker and are dropped.

gunicorn's sync worker reads each request itself, so one client that stops half-way through its
headers holds the worker until gunicorn's ``--timeout``. These tests run the shipped nginx
configuration (its upstreams and ports pointed at local processes) in front of a one-worker
gunicorn and show that stalled clients no longer block anyone, and are cut off after nginx's
``client_header_timeout`` / ``client_body_timeout`` (10 s).
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tests.bridge.harness import ROOT, free_port, wait_until

# pytest-django creates the test database only when a collected test asks for one; the app
# processes started here read it (``SELECT 1`` for /healthz).
pytestmark = pytest.mark.django_db

NGINX = "/usr/sbin/nginx"
CLIENT_TIMEOUT_S = 10  # client_header_timeout and client_body_timeout in deploy/nginx.conf


def _shipped_conf(web_port: int, web_listen: int, bridge_port: int, bridge_listen: int) -> str:
    """deploy/nginx.conf with its compose host names and ports replaced by local ones."""
    conf = (ROOT / "deploy/nginx.conf").read_text()
    for old, new in {
        "server web:8000;": f"server 127.0.0.1:{web_port};",
        "server bridge:8001;": f"server 127.0.0.1:{bridge_port};",
        "listen 8000;": f"listen 127.0.0.1:{web_listen};",
        "listen 8001;": f"listen 127.0.0.1:{bridge_listen};",
    }.items():
        assert conf.count(old) == 1, f"deploy/nginx.conf no longer has {old!r} exactly once"
        conf = conf.replace(old, new)
    return conf


@pytest.fixture(scope="module")
def proxied_app(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """One sync gunicorn worker on the test database, and nginx with the shipped config in front."""
    assert os.access(NGINX, os.X_OK), "nginx is not installed (make test installs Debian's nginx)"
    work = Path(tempfile.mkdtemp(prefix="sopgov-nginx-"))
    os.chmod(work, 0o755)  # nginx's workers may run as another user when the tests run as root
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / temp).mkdir(mode=0o777)
        os.chmod(work / temp, 0o777)
    web_port, web_listen, bridge_listen = free_port(), free_port(), free_port()
    (work / "nginx.conf").write_text(
        f"""
daemon off;
user {getpass.getuser()};
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
{_shipped_conf(web_port, web_listen, free_port(), bridge_listen)}
}}
"""
    )
    checked = subprocess.run([NGINX, "-t", "-p", str(work), "-c", str(work / "nginx.conf")], capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode()

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sopgov.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    log = (work / "gunicorn.log").open("w")
    app = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "sopgov.wsgi", "-b", f"127.0.0.1:{web_port}", "-w", "1", "--timeout", "60"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proxy = subprocess.Popen([NGINX, "-p", str(work), "-c", str(work / "nginx.conf")], stderr=subprocess.DEVNULL)
    urls = {"direct": f"http://127.0.0.1:{web_port}", "proxied": f"http://127.0.0.1:{web_listen}"}
    try:
        for url in urls.values():
            wait_until(lambda url=url: _healthz(url, timeout=2) == 200, timeout=30, message=f"{url}/healthz")
        yield urls
    finally:
        for process in (proxy, app):
            process.terminate()
            process.wait(15)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def _healthz(url: str, timeout: float) -> int | None:
    try:
        return httpx.get(url + "/healthz", timeout=timeout).status_code
    except httpx.HTTPError:
        return None


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
