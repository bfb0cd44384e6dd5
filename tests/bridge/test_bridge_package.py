"""The bridge ships alone (mcp_bridge/Dockerfile): its own pinned requirements, no Django."""

from __future__ import annotations

import re
import subprocess
import sys

from mcp_bridge.aws import invocation_url
from tests.bridge.harness import ROOT


def _pins(path: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        if line and not line.startswith(("#", "-r")):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_bridge_requirements__subset_of_the_project_pins__same_versions() -> None:
    bridge, project = _pins("mcp_bridge/requirements.txt"), _pins("requirements.txt")
    assert {"mcp", "uvicorn", "boto3", "mmh3", "snowballstemmer"} <= set(bridge)
    assert {name: version for name, version in bridge.items() if project.get(name) != version} == {}
    assert "django" not in bridge and "celery" not in bridge


def test_bridge__imports_without_django_or_the_apps() -> None:
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in {'django', 'rest_framework', 'celery', 'apps', 'sopgov'}:\n"
        "            raise ImportError(f'the bridge must not import {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import mcp_bridge.asgi, mcp_bridge.client, mcp_bridge.aws, mcp_bridge.manifest\n"
        "from mcp_bridge.manifest import expected_tools_sha256\n"
        "print(len(expected_tools_sha256()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "64"


def test_invocation_url__arn_and_qualifier_percent_encoded__as_the_seed_builds_it() -> None:
    arn = "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/sopgov_bridge-AbC123"
    assert invocation_url("us-west-2", arn) == (
        "https://bedrock-agentcore.us-west-2.amazonaws.com/runtimes/"
        "arn%3Aaws%3Abedrock-agentcore%3Aus-west-2%3A123456789012%3Aruntime%2Fsopgov_bridge-AbC123"
        "/invocations?qualifier=DEFAULT"
    )
    assert invocation_url("eu-west-1", arn, "prod v2", base="http://127.0.0.1:9000/").startswith(
        "http://127.0.0.1:9000/runtimes/arn%3A"
    )
    assert invocation_url("eu-west-1", arn, "prod v2").endswith("?qualifier=prod%20v2")
