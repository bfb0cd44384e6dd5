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

from tests.bridge.harness import free_port, http_status, post_tool, reply_of, running_bridge, wait_until
from tests.conftest import publish_new_version
from tests.nginx import running_nginx, shipped_conf

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


def test_two_bridges_behind_the_shipped_proxy__sessions_stay_on_their_bridge_and_are_notified(
    live_server: Any, library: dict[str, str], tmp_path: Path, people: dict[str, Any]
) -> None:
    """docker-compose's layout: bridges ``a`` and ``b`` (one process each, sessions on) behind
    deploy/nginx.conf. New sessions are spread over both; every later request of a session —
    calls, the GET stream, notifications — reaches the bridge that holds it (else 404)."""

    def publish() -> int:
        try:
            return publish_new_version("warranty_information", people, "## Warranty v3\n1. Newer step.").number
        finally:
            from django.db import connection

            connection.close()

    def raw_sessions(url: str, count: int) -> list[tuple[str, int]]:
        """``count`` initialize requests, then a tools/call in each session: (session id, status)."""
        headers = {
            "Authorization": f"Bearer {library['reader']}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        }
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "list_sop_categories", "arguments": {}},
        }
        seen = []
        with httpx.Client(headers=headers, timeout=10) as http:
            for _ in range(count):
                session = http.post(url, json=initialize).headers["mcp-session-id"]
                answered = http.post(url, json=call, headers={"Mcp-Session-Id": session})
                seen.append((session, answered.status_code))
        return seen

    async def notified_clients(url: str) -> list[dict[str, Any]]:
        clients: list[dict[str, Any]] = [{"received": [], "session": None} for _ in range(2)]

        async def run(client: dict[str, Any], ready: anyio.Event, go: anyio.Event) -> None:
            async def on_message(message: Any) -> None:
                root = getattr(message, "root", message)
                if getattr(root, "method", None):
                    client["received"].append(root.method)

            async def remember_session(response: Any) -> None:
                client["session"] = client["session"] or response.headers.get("mcp-session-id")

            headers = {"Authorization": f"Bearer {library['reader']}"}
            async with httpx2.AsyncClient(
                headers=headers, timeout=30, event_hooks={"response": [remember_session]}
            ) as http:
                async with streamable_http_client(url, http_client=http) as (read, write):
                    async with ClientSession(read, write, message_handler=on_message) as session:
                        await session.initialize()
                        await session.subscribe_resource(URI)
                        ready.set()
                        await go.wait()
                        with anyio.move_on_after(15):
                            while not {
                                "notifications/resources/list_changed",
                                "notifications/resources/updated",
                            } <= set(client["received"]):
                                await anyio.sleep(0.05)
                        served = await session.call_tool(
                            "get_specific_sop", {"category": "product", "sop_key": "warranty_information"}
                        )
                        client["version"] = served.structured_content["version"]

        go = anyio.Event()
        async with anyio.create_task_group() as group:
            readies = []
            for client in clients:
                ready = anyio.Event()
                readies.append(ready)
                group.start_soon(run, client, ready, go)
                await ready.wait()  # one after the other: nginx's round robin puts them on both bridges
            clients[0]["number"] = await anyio.to_thread.run_sync(publish)
            go.set()
        return clients

    sessions_on = {"SOPGOV_BRIDGE_SESSIONS": "1"}
    with (
        running_bridge(
            live_server.url, library["bridge"], tmp_path / "a", extra_env={**sessions_on, "SOPGOV_BRIDGE_INSTANCE": "a"}
        ) as a,
        running_bridge(
            live_server.url, library["bridge"], tmp_path / "b", extra_env={**sessions_on, "SOPGOV_BRIDGE_INSTANCE": "b"}
        ) as b,
    ):
        listen = free_port()
        site = shipped_conf(
            {"web:8000": "127.0.0.1:1", "bridge-a:8001": f"127.0.0.1:{a.port}", "bridge-b:8001": f"127.0.0.1:{b.port}"},
            {8000: f"127.0.0.1:{free_port()}", 8001: f"127.0.0.1:{listen}"},
        )
        with running_nginx(site):
            url = f"http://127.0.0.1:{listen}/mcp"
            wait_until(lambda: http_status(f"http://127.0.0.1:{listen}/healthz") == 200, 10, message="nginx")
            raw = raw_sessions(url, 6)
            clients = asyncio.run(notified_clients(url))
    assert {session.split(".")[0] for session, _ in raw} == {"a", "b"}  # spread over both bridges
    assert [status for _, status in raw] == [200] * 6  # and each session's call reached its own bridge
    assert {client["session"].split(".")[0] for client in clients} == {"a", "b"}
    for client in clients:
        assert {"notifications/resources/list_changed", "notifications/resources/updated"} <= set(client["received"])
        assert client["version"] == clients[0]["number"]
