"""Replay the seed's regression scenario over MCP against a bridge, local or on AgentCore; or
ask it one question.

    python -m mcp_bridge.client ask "Can I get a refund?" --url http://127.0.0.1:8001/mcp --token T
    python -m mcp_bridge.client http://127.0.0.1:8001/mcp --token T
    python -m mcp_bridge.client --ssm-parameter /mcp_server/customer_service_sop/agent_arn --region us-west-2
    python -m mcp_bridge.client --ssm-parameter NAME --region R --token JWT   (JWT authorizer)

With ``--ssm-parameter`` the runtime ARN is read from SSM (as the seed does), the AgentCore
invocation URL is built from it and every request is signed with SigV4 (service
``bedrock-agentcore``, boto3's credentials) unless a bearer ``--token`` is given.

Steps (as the seed's ``invoke_customer_service_sop_tools.py``, with the write made safe):
list the tools; list categories; route a billing and a technical question; read a specific SOP;
ask for an unknown SOP (must be an error listing what exists); read the SOP as a resource;
propose a change, then check the live SOP is unchanged. Exits 1 if any step fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import TextContent

EXPECTED_TOOLS = {"list_sop_categories", "get_sop_for_question", "get_specific_sop", "propose_sop_change"}


class Refused(Exception):
    """The server refused the connection (HTTP 401 or 403); ``detail`` is what it said."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


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


async def scenario(session: ClientSession, out: Callable[[str], None], expect_proposals: bool = True) -> list[str]:
    """Run every step against an initialised ``session``; return the names of failed steps.

    With ``expect_proposals=False`` the proposal step passes only if the bridge refuses it.
    """
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
        if expect_proposals:
            _check(not result.is_error and reply.get("status") == "proposed", f"proposal refused: {reply}")
        else:
            _check(result.is_error and reply.get("error") == "Forbidden", f"proposal not refused: {reply}")
        after = _json(
            await session.call_tool("get_specific_sop", {"category": "product", "sop_key": "warranty_information"})
        )
        _check(after["content_sha256"] == warranty["content_sha256"], "the proposal changed the live SOP!")
        if not expect_proposals:
            return "refused by the platform-authenticated bridge; live SOP unchanged"
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
    url: str,
    headers: dict[str, str],
    auth: httpx2.Auth | None = None,
    out: Callable[[str], None] = print,
    expect_proposals: bool = True,
) -> int:
    """Connect to ``url`` and run the scenario; return the process exit code (0 = all passed).

    ``auth`` signs requests (``aws.SigV4Auth`` for AgentCore); ``expect_proposals=False`` for a
    bridge behind a platform authorizer, which must refuse proposals instead of recording them.
    """
    refusals: list[Refused] = []

    async def remember_refusals(response: httpx2.Response) -> None:
        # The SDK reports any HTTP error as a bare "error response"; keep what the server said.
        if response.status_code in (401, 403):
            body = (await response.aread()).decode("utf-8", "replace")
            try:
                parsed = json.loads(body)
                detail = parsed.get("message") or parsed.get("error", {}).get("message") or body
            except (ValueError, AttributeError):
                detail = body
            refusals.append(Refused(response.status_code, str(detail)[:300]))

    async with httpx2.AsyncClient(
        headers=headers, auth=auth, timeout=httpx2.Timeout(30, read=60), event_hooks={"response": [remember_refusals]}
    ) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                try:
                    await session.initialize()
                except MCPError as exc:
                    if refusals:
                        raise refusals[-1] from exc
                    raise
                failures = await scenario(session, out, expect_proposals)
    out("all steps passed" if not failures else f"{len(failures)} step(s) failed: {', '.join(failures)}")
    return 1 if failures else 0


def describe_answer(reply: dict[str, Any]) -> str:
    """What ``get_sop_for_question`` answered, for a person: the SOP served (version, variant,
    confidence, runners-up) and its content; or the category's SOPs; or that none fits."""
    if reply.get("error"):
        return f"error: {reply['error']}: {reply.get('detail', '')}".rstrip(": ")
    if reply.get("category") == "general":
        return f"No SOP fits this question (category 'general'):\n{reply.get('sop_content', '')}"
    if "sop_list" in reply:
        lines = [f"Several SOPs of {reply['category']} may apply; pick one with get_specific_sop:"]
        lines += [f"  {s['sop_key']} v{s['version']}: {s['title']}" for s in reply.get("sops", [])]
        return "\n".join(lines)
    lines = [
        f"Served {reply['category']}/{reply['sop_key']} v{reply['version']}: {reply['title']}"
        f" (confidence {reply.get('confidence', 0):.2f}, sha256 {str(reply.get('content_sha256', ''))[:12]})"
    ]
    alternatives = reply.get("alternatives") or []
    if alternatives:
        lines.append("Runners-up: " + ", ".join(f"{a['category']}/{a['sop_key']}" for a in alternatives))
    lines += ["", reply.get("sop_content", "")]
    return "\n".join(lines)


async def ask(
    url: str, headers: dict[str, str], question: str, routing_key: str | None = None, out: Callable[[str], None] = print
) -> int:
    """Ask the bridge at ``url`` one question (``get_sop_for_question``) and print what an agent
    would be served; return 0, or 1 when the bridge answers with an error."""
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60)) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                arguments = {"question": question, **({"routing_key": routing_key} if routing_key else {})}
                result = await session.call_tool("get_sop_for_question", arguments)
    reply = _json(result)
    out(describe_answer(reply))
    return 1 if result.is_error else 0


def ask_main(argv: list[str]) -> int:
    """``python -m mcp_bridge.client ask "question" --url URL --token T [--routing-key K]``."""
    parser = argparse.ArgumentParser(
        prog="python -m mcp_bridge.client ask", description="Ask a bridge one question and print what would be served."
    )
    parser.add_argument("question", help="the customer's question, in their words")
    parser.add_argument("--url", required=True, help="the MCP endpoint, e.g. http://127.0.0.1:8001/mcp")
    parser.add_argument("--token", help="a sopgov agent token with sop:read (or SOPGOV_AGENT_TOKEN)")
    parser.add_argument("--routing-key", help="the conversation id (during a rollout: which version it gets)")
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("SOPGOV_AGENT_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return asyncio.run(ask(args.url, headers, args.question, args.routing_key))
    except Exception as exc:
        print(f"FAIL could not ask {args.url}: {explain(exc)}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ask"]:
        return ask_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m mcp_bridge.client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", nargs="?", help="the MCP endpoint, e.g. http://127.0.0.1:8001/mcp")
    parser.add_argument("--url", dest="url_option", help="the same, as an option")
    parser.add_argument("--ssm-parameter", help="read the AgentCore runtime ARN from this SSM parameter")
    parser.add_argument("--region", help="AWS region of the parameter and the runtime (with --ssm-parameter)")
    parser.add_argument("--qualifier", default="DEFAULT", help="runtime endpoint to invoke (default DEFAULT)")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", ""),
        help="AgentCore data-plane base URL instead of https://bedrock-agentcore.<region>.amazonaws.com",
    )
    parser.add_argument("--sigv4", action="store_true", help="sign requests with SigV4 (default with --ssm-parameter)")
    parser.add_argument(
        "--token",
        help="bearer token: a sopgov agent token, or a JWT for AgentCore's JWT authorizer (or SOPGOV_AGENT_TOKEN)",
    )
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("SOPGOV_AGENT_TOKEN", "")
    url = args.url or args.url_option
    agentcore = bool(args.ssm_parameter)
    if agentcore:
        if not args.region:
            parser.error("--ssm-parameter needs --region")
        if url:
            parser.error("give either a URL or --ssm-parameter, not both")
    elif not url:
        parser.error("give the MCP URL (or --ssm-parameter NAME --region R for AgentCore)")
    try:
        auth: httpx2.Auth | None = None
        if agentcore:
            from .aws import arn_from_ssm, invocation_url

            arn = arn_from_ssm(args.ssm_parameter, args.region)
            url = invocation_url(args.region, arn, args.qualifier, base=args.endpoint_url or None)
            print(f"runtime {arn} from {args.ssm_parameter}; invoking {url}")
        if (agentcore or args.sigv4) and not token:
            from .aws import SigV4Auth, default_credentials

            region = args.region or os.environ.get("AWS_REGION", "")
            if not region:
                parser.error("--sigv4 needs --region (or AWS_REGION)")
            auth = SigV4Auth(default_credentials(region), region)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # A bridge on AgentCore is behind the platform's authorizer and refuses proposals.
        return asyncio.run(run(url, headers, auth, expect_proposals=not (agentcore or args.sigv4)))
    except Exception as exc:
        print(f"FAIL could not run the scenario against {url}: {explain(exc)}", file=sys.stderr)
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
        status = leaf.status if isinstance(leaf, Refused) else None
        if isinstance(leaf, httpx2.HTTPStatusError):
            status = leaf.response.status_code
        if status == 401:
            parts.append("HTTP 401 Unauthorized: the token is missing, unknown or revoked (use --token)")
        elif status == 403:
            said = f" (the server said: {leaf.detail})" if isinstance(leaf, Refused) else ""
            parts.append(
                "HTTP 403 Forbidden: AgentCore refused the request; check the AWS credentials (the signature "
                f"did not verify, or the identity may not invoke this runtime) or the bearer token{said}"
            )
        else:
            parts.append(f"{leaf.__class__.__name__}: {leaf}")
    return "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
