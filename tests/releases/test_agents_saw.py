"""The auditor's "what did agents see?": for an SOP at a moment, the bundle then current and
what it served; for a conversation, every call and the exact version it got."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from apps.agents.models import ToolCall
from apps.publishing.selectors import current_bundle_sha256
from apps.sops.models import SOP
from tests.conftest import advance, draft


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_agents_saw__moment_and_conversation__exact_versions_served(sop: SOP, people: dict[str, Any]) -> None:
    v1 = advance(draft(sop, people["author"]), people, "live")
    between = timezone.now()
    first_bundle = current_bundle_sha256()
    v2 = advance(draft(sop, people["author"], content="## v2"), people, "live")
    auditor = _as(people["auditor"])
    at = timezone.localtime(between).strftime("%Y-%m-%dT%H:%M:%S.%f")
    html = auditor.get("/admin/release/agents-saw/", {"sop": sop.slug, "at": at}).content.decode()
    assert f">v{v1.number}</a>" in html and first_bundle[:16] in html
    now = auditor.get("/admin/release/agents-saw/", {"sop": sop.slug}).content.decode()
    assert f">v{v2.number}</a>" in now
    key = f"conv-{uuid.uuid4().hex[:8]}"
    for i, version in enumerate((v1, v2)):
        ToolCall.objects.create(
            call_id=uuid.uuid4(),
            called_at=timezone.now() + timedelta(seconds=i),
            bridge_id="b",
            tool="get_specific_sop",
            agent_name="triage",
            routing_key=key,
            arguments_sha256="0" * 64,
            sop_slug=sop.slug,
            version_number=version.number,
            content_sha256=version.content_sha256,
            bundle_sha256="b" * 64,
            latency_ms=1.0,
            variant="stable",
        )
    calls = auditor.get("/admin/release/agents-saw/", {"routing_key": key}).content.decode()
    assert calls.count("get_specific_sop") == 2 and v1.content_sha256[:12] in calls and v2.content_sha256[:12] in calls
    empty = auditor.get("/admin/release/agents-saw/", {"sop": "nocategory"}).content.decode()
    assert "Give the SOP as category/key." in empty
