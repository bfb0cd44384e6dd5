"""Issuing an agent token in a real browser: shown once, copied with a button, with client
configurations ready to paste."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.agents.models import AgentToken
from apps.agents.tokens import hash_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_issue_token__copy_button_and_client_configs(new_page: Any, people: dict[str, Any]) -> None:
    admin = new_page("admin")
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"])
    admin.goto("/admin/agents/agenttoken/add/")
    admin.fill("#id_name", "helpdesk-bot")
    admin.click("input[type=submit]")
    raw = admin.locator("#token-value").inner_text().strip()
    assert AgentToken.objects.get(name="helpdesk-bot").token_sha256 == hash_token(raw)

    admin.click("button[data-copy=token-value]")
    expect(admin.locator("button[data-copy=token-value]")).to_have_text("Copied")
    assert admin.evaluate("navigator.clipboard.readText()") == raw

    admin.click("button[data-copy=config-mcp-json-text]")
    pasted = json.loads(admin.evaluate("navigator.clipboard.readText()"))
    assert pasted["mcpServers"]["sopgov"]["headers"]["Authorization"] == f"Bearer {raw}"
    for key in ("claude-code", "claude-desktop", "inspector", "python"):
        expect(admin.locator(f"#config-{key} pre")).to_contain_text(raw)
