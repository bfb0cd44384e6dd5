"""Stateful sessions (SOPGOV_BRIDGE_SESSIONS=1) over real streamable HTTP with the official
client: a publish in the app reaches a connected client as notifications/resources/list_changed
and, for the SOP it subscribed to, notifications/resources/updated; stateless callers keep working."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.bridge.harness import post_tool, reply_of, running_bridge
from tests.conftest import publish_new_version

pytestmark = [pytest.mark.bridge, pytest.mark.django_db(transaction=True)]
URI = "sop://product/warranty_information"


def test_publish__connected_session_notified__stateless_calls_unchanged(
    live_server: Any, library: dict[str, str], cache_dir: Path, people: dict[str, Any]
) -> None:
    def publish() -> int:
        try:
            return _publish()
        finally:
            from django.db import connection

            connection.close()  # this runs in a worker thread, with its own connection

    def _publish() -> int:
        return publish_new_version("warranty_information", people, "## Warranty v2\n1. New step.").number

    async def scenario(url: str) -> dict[str, Any]:
        received: list[Any] = []

        async def on_message(message: Any) -> None:
            root = getattr(message, "root", message)
            method = getattr(root, "method", None)
            if method:
                received.append((method, getattr(getattr(root, "params", None), "uri", None)))

        headers = {"Authorization": f"Bearer {library['reader']}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write, message_handler=on_message) as session:
                    initialized = await session.initialize()
                    await session.subscribe_resource(URI)
                    await session.list_tools()
                    number = await anyio.to_thread.run_sync(publish)
                    with anyio.move_on_after(10):
                        while not (
                            {m for m, _ in received}
                            >= {"notifications/resources/list_changed", "notifications/resources/updated"}
                        ):
                            await anyio.sleep(0.05)
                    served = await session.call_tool(
                        "get_specific_sop", {"category": "product", "sop_key": "warranty_information"}
                    )
        return {
            "capabilities": initialized.capabilities.resources,
            "received": received,
            "number": number,
            "served": served,
        }

    with running_bridge(
        live_server.url, library["bridge"], cache_dir, extra_env={"SOPGOV_BRIDGE_SESSIONS": "1"}
    ) as bridge:
        got = asyncio.run(scenario(bridge.url))
        stateless = post_tool(
            bridge.url, library["reader"], "get_specific_sop", {"category": "billing", "sop_key": "refund_policy"}
        )
        no_session_get = httpx.get(bridge.url, headers={"Authorization": f"Bearer {library['reader']}"}, timeout=5)
    assert got["capabilities"].list_changed is True and got["capabilities"].subscribe is True
    assert ("notifications/resources/list_changed", None) in got["received"]
    assert ("notifications/resources/updated", URI) in [(m, str(u) if u else None) for m, u in got["received"]]
    assert got["served"].structured_content["version"] == got["number"]
    assert stateless[0] == 200 and reply_of(stateless[1])[1]["sop_key"] == "refund_policy"
    assert no_session_get.status_code == 405
