"""``python -m mcp_bridge.client URL --token T``: replay the seed's regression scenario over MCP.

Steps (as the seed's ``invoke_customer_service_sop_tools.py``, with the write made safe):
list the tools; list categories; route a billing and a technical question; read a specific SOP;
ask for an unknown SOP (must be an error listing what exists); read the SOP as a resource;
propose a change, then check the live SOP is unchanged. Exits 1 if any step fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextContent

EXPECTED_TOOLS = {"list_sop_categories", "get_sop_for_question", "get_specific_sop", "propose_sop_change"}


class StepFailed(AssertionError):
    """A scenario step did not get what it expected."""


def _json(result: Any) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    first = result.content[0]
    return json.loads(first.text if isinstance(first, TextContent) else "null")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


async def scenario(session: ClientSession, out: Callable[[str], None]) -> list[str]:
    """Run every step against an initialised ``session``; return the names of failed steps."""
    failures: list[str] = []

    async def step(name: str, body: Callable[[], Awaitable[str]]) -> None:
        try:
            detail = await body()
        except Exception as exc:
            failures.append(name)
            out(f"FAIL {name}: {exc}")
        else:
            out(f"ok   {name}: {detail}")

    async def list_tools() -> str:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        _check(set(tools) >= EXPECTED_TOOLS, f"missing tools {sorted(EXPECTED_TOOLS - set(tools))}")
        _check(all(tools[n].description for n in EXPECTED_TOOLS), "a tool has no description")
        return ", ".join(sorted(tools))

    async def categories() -> str:
        result = await session.call_tool("list_sop_categories", {})
        _check(not result.is_error, "list_sop_categories returned an error")
        names = [c.text for c in result.content if isinstance(c, TextContent)]
        _check({"billing", "technical_support", "product"} <= set(names), f"categories are {names}")
        return ", ".join(names)

    async def route(question: str, expected: str) -> str:
        result = await session.call_tool("get_sop_for_question", {"question": question})
        reply = _json(result)
        got = f"{reply.get('category')}/{reply.get('sop_key')}"
        _check(not result.is_error and got == expected, f"{question!r} routed to {got}, expected {expected}")
        _check(
            isinstance(reply.get("version"), int) and len(reply.get("content_sha256", "")) == 64,
            "reply lacks version or content_sha256",
        )
        return f"{got} v{reply['version']}"

    warranty: dict[str, Any] = {}

    async def specific() -> str:
        result = await session.call_tool("get_specific_sop", {"category": "product", "sop_key": "warranty_information"})
        reply = _json(result)
        _check(not result.is_error and reply.get("sop_key") == "warranty_information", f"got {reply}")
        warranty.update(reply)
        return f"v{reply['version']} sha256 {reply['content_sha256'][:12]}"

    async def unknown() -> str:
        result = await session.call_tool("get_specific_sop", {"category": "product", "sop_key": "no_such_sop"})
        reply = _json(result)
        _check(result.is_error and "warranty_information" in reply.get("available_sops", []), f"got {reply}")
        return "error lists available_sops"

    async def resource() -> str:
        result = await session.read_resource("sop://product/warranty_information")
        text = result.contents[0].text  # type: ignore[union-attr]
        _check(text == warranty.get("sop_content"), "resource differs from get_specific_sop")
        return f"{len(text)} characters of Markdown"

    async def proposal() -> str:
        content = "## Steps\n1. Proposed by the regression scenario; must not go live without review."
        result = await session.call_tool(
            "propose_sop_change",
            {
                "category": "product",
                "sop_key": "warranty_information",
                "content": content,
                "rationale": "Regression check: proposals never change what is served.",
            },
        )
        reply = _json(result)
        _check(not result.is_error and reply.get("status") == "proposed", f"proposal refused: {reply}")
        after = _json(
            await session.call_tool("get_specific_sop", {"category": "product", "sop_key": "warranty_information"})
        )
        _check(after["content_sha256"] == warranty["content_sha256"], "the proposal changed the live SOP!")
        return f"draft v{reply['draft_version']} recorded; live SOP unchanged"

    await step("list tools", list_tools)
    await step("list_sop_categories", categories)
    await step(
        "billing question",
        lambda: route("I want to know the refund policy for my recent purchase", "billing/refund_policy"),
    )
    await step(
        "technical question",
        lambda: route("My account is locked and I can't log in", "technical_support/account_lockout"),
    )
    await step("get_specific_sop", specific)
    await step("unknown SOP", unknown)
    await step("resource sop://", resource)
    await step("proposal is not live", proposal)
    return failures


async def run(
    url: str, headers: dict[str, str], auth: httpx2.Auth | None = None, out: Callable[[str], None] = print
) -> int:
    """Connect to ``url`` and run the scenario; return the process exit code (0 = all passed)."""
    async with httpx2.AsyncClient(headers=headers, auth=auth, timeout=httpx2.Timeout(30, read=60)) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                failures = await scenario(session, out)
    out("all steps passed" if not failures else f"{len(failures)} step(s) failed: {', '.join(failures)}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mcp_bridge.client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="the bridge's MCP endpoint, e.g. http://127.0.0.1:8001/mcp")
    parser.add_argument("--token", help="agent token with sop:read and sop:propose (or SOPGOV_AGENT_TOKEN)")
    args = parser.parse_args(argv)
    import os

    token = args.token or os.environ.get("SOPGOV_AGENT_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return asyncio.run(run(args.url, headers))
    except Exception as exc:
        print(f"FAIL could not run the scenario against {args.url}: {explain(exc)}", file=sys.stderr)
        return 1


def explain(exc: BaseException) -> str:
    """Return the root causes of ``exc`` (task-group errors unwrapped) in one line."""
    leaves: list[BaseException] = []

    def walk(e: BaseException) -> None:
        if isinstance(e, BaseExceptionGroup):
            for inner in e.exceptions:
                walk(inner)
        else:
            leaves.append(e)

    walk(exc)
    parts = []
    for leaf in leaves:
        if isinstance(leaf, httpx2.HTTPStatusError) and leaf.response.status_code == 401:
            parts.append("HTTP 401 Unauthorized: the token is missing, unknown or revoked (use --token)")
        else:
            parts.append(f"{leaf.__class__.__name__}: {leaf}")
    return "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
