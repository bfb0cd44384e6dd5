"""With the database stopped, the bridge keeps serving (even across a restart), the app says so
clearly, and nothing agents were served is lost from the tool-call log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.bridge.harness import ROOT, Bridge, free_port, post_tool, reply_of, running_bridge, wait_until
from tests.bridge.private_postgres import PrivatePostgres

pytestmark = pytest.mark.bridge


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A private PostgreSQL, the app on it (gunicorn), the demo users and the seed's SOPs."""
    pg = PrivatePostgres()
    pg.start()
    pg.create_database()
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sopgov.settings.local",
        "DATABASE_URL": pg.url,
        "REDIS_URL": "",
        "DJANGO_DEBUG": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
    }
    manage(env, "migrate", "--no-input", "-v", "0")
    library = tmp_path_factory.mktemp("lib") / "service.json"
    library.write_text((ROOT / "apps/demo/library/customer_service.json").read_text())
    manage(env, "shell", "-c", "from apps.demo.loading import demo_users; demo_users('pw')")
    manage(
        env,
        "import_sops",
        str(library),
        "--author",
        "author",
        "--publish",
        "--approver",
        "reviewer",
        "--approver",
        "reviewer2",
        "--publisher",
        "release",
    )
    agent = manage(env, "issue_agent_token", "agent", "--scopes", "sop:read").strip().splitlines()[-1]
    bridge_token = manage(env, "issue_agent_token", "bridge", "--scopes", "bridge:sync").strip().splitlines()[-1]
    app_log = (tmp_path_factory.mktemp("app") / "app.log").open("w")
    app = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "sopgov.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--timeout", "30"],
        cwd=ROOT,
        env=env,
        stdout=app_log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _status(url + "/healthz") == 200, timeout=30, message="the app to start")
    try:
        yield {"pg": pg, "url": url, "agent": agent, "bridge": bridge_token}
    finally:
        app.terminate()
        app.wait(10)
        app_log.close()
        pg.destroy()


def _status(url: str, **kwargs: Any) -> int | None:
    try:
        return httpx.get(url, timeout=3, **kwargs).status_code
    except httpx.HTTPError:
        return None


def _tool_calls(pg: PrivatePostgres) -> int:
    with psycopg.connect(pg.url.replace("postgres://", "postgresql://")) as conn:
        return conn.execute("select count(*) from agents_toolcall").fetchone()[0]  # type: ignore[index]


def test_database_stopped__bridge_serves_app_explains_nothing_lost(stack: dict[str, Any], tmp_path: Path) -> None:
    pg: PrivatePostgres = stack["pg"]
    args = {"category": "product", "sop_key": "warranty_information"}
    cache = tmp_path / "cache"
    with running_bridge(stack["url"], stack["bridge"], cache) as bridge:
        _, body = post_tool(bridge.url, stack["agent"], "get_specific_sop", args)
        expected = reply_of(body)[1]
        bundle = bridge.health()["bundle_sha256"]  # type: ignore[index]
        browser = httpx.Client(base_url=stack["url"], timeout=5)
        login = browser.get("/admin/login/")
        browser.post(
            "/admin/login/?next=/admin/",
            data={"username": "auditor", "password": "pw", "csrfmiddlewaretoken": login.cookies["csrftoken"]},
        )
        assert browser.get("/admin/").status_code == 200
        # When the database stops
        pg.stop()
        try:
            # Then the app says so, clearly, as a page and as JSON
            page = browser.get("/admin/")
            assert page.status_code == 503
            assert "database is unavailable" in page.text and "nothing was saved" in page.text
            api = httpx.get(
                stack["url"] + "/api/v1/bridge/bundle/",
                headers={"Authorization": f"Bearer {stack['bridge']}"},
                timeout=5,
            )
            assert (api.status_code, api.json()["error"]) == (503, "database_unavailable")
            assert _status(stack["url"] + "/healthz") == 503
            # And the bridge keeps serving the same SOPs
            for _ in range(5):
                status, body = post_tool(bridge.url, stack["agent"], "get_specific_sop", args)
                assert status == 200 and reply_of(body) == (False, expected)
            wait_until(lambda: not bridge.health()["app_reachable"], timeout=5, message="the bridge to notice")  # type: ignore[index]
        except BaseException:
            pg.start()
            raise
    # And a bridge started while the database is down serves from its disk cache
    try:
        with running_bridge(stack["url"], stack["bridge"], cache, synced=False) as restarted:
            assert restarted.health()["bundle_sha256"] == bundle  # type: ignore[index]
            status, body = post_tool(restarted.url, stack["agent"], "get_specific_sop", args)
            assert status == 200 and reply_of(body) == (False, expected)
    finally:
        pg.start()
    # When the database is back, the app recovers and the spooled tool calls arrive (6 + 1 calls)
    wait_until(lambda: _status(stack["url"] + "/healthz") == 200, timeout=20, message="the app to recover")
    with running_bridge(stack["url"], stack["bridge"], cache):
        wait_until(lambda: _tool_calls(pg) >= 7, timeout=15, message="the spooled tool calls to be delivered")
    assert not (cache / "calls.jsonl").exists() or not (cache / "calls.jsonl").read_text().strip()


def test_cached_bundle__tampered__never_served(stack: dict[str, Any], tmp_path: Path) -> None:
    # Given a bridge cache whose bundle was edited on disk
    cache = tmp_path / "cache"
    with running_bridge(stack["url"], stack["bridge"], cache):
        pass
    raw = json.loads((cache / "bundle.json").read_text())
    raw["sops"][0]["content"] = "tampered"
    (cache / "bundle.json").write_text(json.dumps(raw, sort_keys=True, separators=(",", ":")))
    pg: PrivatePostgres = stack["pg"]
    pg.stop()
    try:
        # When a bridge starts while the app cannot give it a bundle
        bridge = Bridge(stack["url"], stack["bridge"], cache)
        try:
            health = bridge.wait_ready(synced=False)
            # Then it serves nothing rather than the tampered content
            assert health["sops"] == 0
            _, body = post_tool(bridge.url, stack["agent"], "list_sop_categories", {})
            assert body["result"]["structuredContent"] == {"result": []}
            assert "rejected" in bridge.log.read_text()
        finally:
            bridge.stop()
    finally:
        pg.start()
