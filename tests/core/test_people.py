"""The people list shows roles and keeps the agents' service accounts apart."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from apps.agents.services import agent_token_issue


def test_people_list__roles_shown_service_accounts_apart(people: dict[str, Any]) -> None:
    agent_token_issue(actor=None, name="support-bot", scopes=["sop:read"])
    client = Client()
    client.force_login(people["admin"])

    def usernames(url: str) -> set[str]:
        html = client.get(url).content.decode()
        return set(re.findall(r'<th class="field-username"><a href="[^"]*">([^<]+)</a>', html))

    listed = usernames("/admin/auth/user/")
    assert "agent-support-bot" not in listed and {"author", "reviewer", "admin"} <= listed
    assert '<td class="field-roles">reviewer</td>' in client.get("/admin/auth/user/").content.decode()
    assert usernames("/admin/auth/user/?kind=agents") == {"agent-support-bot"}
