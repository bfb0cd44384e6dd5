"""Client configurations shown with a new agent token: each holds the URL and the token, and the
JSON ones parse. (The Python one asks a running bridge in tests/bridge/test_bridge_e2e.py.)"""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from apps.agents.client_config import client_configs

URL = "https://mcp.example.test/mcp"
TOKEN = "sgv_" + "x" * 40


def test_client_configs__every_one_holds_url_and_token() -> None:
    configs = {c.key: c for c in client_configs(TOKEN, url=URL)}
    assert set(configs) == {"claude-code", "mcp-json", "claude-desktop", "inspector", "python"}
    for config in configs.values():
        assert URL in config.text and TOKEN in config.text, config.key
    server = json.loads(configs["mcp-json"].text)["mcpServers"]["sopgov"]
    assert server == {"type": "http", "url": URL, "headers": {"Authorization": f"Bearer {TOKEN}"}}
    desktop = json.loads(configs["claude-desktop"].text)["mcpServers"]["sopgov"]
    # mcp-remote's documented form: no space inside the header argument, the value from env
    assert desktop["args"][-2:] == ["--header", "Authorization:${SOPGOV_AUTH}"]
    assert desktop["env"] == {"SOPGOV_AUTH": f"Bearer {TOKEN}"}
    compile(configs["python"].text, "ask_sopgov.py", "exec")


def test_token_page__read_token_shows_configs__bridge_token_shows_env(people: dict[str, Any]) -> None:
    client = Client()
    client.force_login(people["admin"])
    page = client.post("/admin/agents/agenttoken/add/", {"name": "helpdesk", "scopes": ["sop:read"]}).content.decode()
    assert 'id="config-claude-code"' in page and 'id="config-python"' in page and "Copy token" in page
    page = client.post(
        "/admin/agents/agenttoken/add/", {"name": "bridge-2", "scopes": ["bridge:sync"]}
    ).content.decode()
    assert "SOPGOV_BRIDGE_TOKEN" in page and 'id="config-claude-code"' not in page
