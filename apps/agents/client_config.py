"""Ready-to-paste configurations that connect a real MCP client to the bridge with an agent token.

Shown once, with the token, when a token is issued (``templates/sopgov/token_issue.html``), and
in the README. Formats follow each client's documentation:

- Claude Code: ``claude mcp add --transport http NAME URL --header "…"`` and the project file
  ``.mcp.json`` (``{"mcpServers": {NAME: {"type": "http", "url", "headers"}}}``).
- Claude Desktop: its ``claude_desktop_config.json`` starts local (stdio) servers, so a remote
  one is reached through the ``mcp-remote`` proxy, the token passed in an environment variable.
- MCP Inspector: ``npx @modelcontextprotocol/inspector``, transport "Streamable HTTP".
- Python: the official ``mcp`` SDK's streamable HTTP client (the one ``mcp_bridge.client`` uses).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ClientConfig:
    """One client's configuration: ``key`` (stable id), ``title``, ``where`` (the file or place it
    goes) and ``text`` (what to paste)."""

    key: str
    title: str
    where: str
    text: str


PYTHON_QUESTION = "How do I get a refund?"


def mcp_url() -> str:
    """The bridge's MCP endpoint as clients reach it (``SOPGOV_MCP_URL``)."""
    return str(settings.SOPGOV["MCP_URL"])


def python_client(url: str, token: str, question: str = PYTHON_QUESTION) -> str:
    """A runnable Python script (official ``mcp`` SDK) that asks the bridge one question."""
    return f"""import asyncio

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

URL = {url!r}
TOKEN = {token!r}


async def main() -> None:
    async with httpx2.AsyncClient(headers={{"Authorization": f"Bearer {{TOKEN}}"}}, timeout=30) as http:
        async with streamable_http_client(URL, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                print("tools:", ", ".join(tool.name for tool in tools.tools))
                result = await session.call_tool("get_sop_for_question", {{"question": {question!r}}})
                print(result.content[0].text)


asyncio.run(main())
"""


def client_configs(token: str, *, name: str = "sopgov", url: str | None = None) -> list[ClientConfig]:
    """Configurations for Claude Code, Claude Desktop, MCP Inspector and a Python agent.

    Args:
        token: the raw agent token (``sgv_…``), shown only at issue time.
        name: the server's name in the client's configuration.
        url: the MCP endpoint; default :func:`mcp_url`.
    """
    url = url or mcp_url()
    header = f"Authorization: Bearer {token}"
    mcp_json = {"mcpServers": {name: {"type": "http", "url": url, "headers": {"Authorization": f"Bearer {token}"}}}}
    desktop = {
        "mcpServers": {
            name: {
                "command": "npx",
                "args": ["-y", "mcp-remote", url, "--header", "Authorization:${SOPGOV_AUTH}"],
                "env": {"SOPGOV_AUTH": f"Bearer {token}"},
            }
        }
    }
    return [
        ClientConfig(
            "claude-code",
            "Claude Code",
            "a terminal",
            f'claude mcp add --transport http {name} {url} --header "{header}"',
        ),
        ClientConfig(
            "mcp-json", "Claude Code (project file)", ".mcp.json in your project", json.dumps(mcp_json, indent=2)
        ),
        ClientConfig(
            "claude-desktop",
            "Claude Desktop",
            "claude_desktop_config.json (needs Node.js for npx)",
            json.dumps(desktop, indent=2),
        ),
        ClientConfig(
            "inspector",
            "MCP Inspector",
            "a terminal, then the Inspector's page",
            "npx @modelcontextprotocol/inspector\n"
            f"# Transport: Streamable HTTP   URL: {url}\n"
            f"# Authentication → header name: Authorization   value: Bearer {token}",
        ),
        ClientConfig("python", "Python (official MCP SDK)", "ask_sopgov.py", python_client(url, token)),
    ]
