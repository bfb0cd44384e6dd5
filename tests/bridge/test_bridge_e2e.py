"""The bridge as a real process over real MCP (streamable HTTP) against the real app."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from apps.agents.client_config import client_configs
from apps.agents.models import AgentToken, ToolCall
from apps.agents.services import agent_token_revoke
from apps.sops.models import SOPVersion
from mcp_bridge import client as regression
from tests.bridge.harness import mcp_session, post_tool, reply_of, running_bridge, wait_until
from tests.conftest import publish_new_version

pytestmark = [pytest.mark.bridge, pytest.mark.django_db(transaction=True)]


def test_regression_scenario__real_mcp__all_steps_pass(
    live_server: Any, library: dict[str, str], cache_dir: Path
) -> None:
    lines: list[str] = []
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        code = asyncio.run(
            regression.run(bridge.url, {"Authorization": f"Bearer {library['agent']}"}, out=lines.append)
        )
    assert code == 0, "\n".join(lines)
    assert lines[-1] == "all steps passed"
    proposal = SOPVersion.objects.get(origin="agent")
    assert (proposal.sop.slug, proposal.status) == ("product/warranty_information", "draft")


def test_publish_immediately__served_within_one_second(
    live_server: Any, library: dict[str, str], cache_dir: Path, people: dict[str, Any]
) -> None:
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        candidate = publish_new_version("warranty_information", people, "## Warranty v2\n1. New step.")
        published = time.monotonic()

        def served_version() -> int | None:
            _, body = post_tool(
                bridge.url,
                library["reader"],
                "get_specific_sop",
                {"category": "product", "sop_key": "warranty_information"},
            )
            version = reply_of(body)[1]["version"]
            return version if version == candidate.number else None

        wait_until(served_version, timeout=1.0, interval=0.02, message="the new version to be served")
        assert time.monotonic() - published < 1.0


def test_auth__missing_wrong_revoked_tokens__401(live_server: Any, library: dict[str, str], cache_dir: Path) -> None:
    args = {"category": "product", "sop_key": "warranty_information"}
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        assert post_tool(bridge.url, None, "get_specific_sop", args)[0] == 401
        assert post_tool(bridge.url, "sgv_wrong", "get_specific_sop", args)[0] == 401
        assert post_tool(bridge.url, library["reader"], "get_specific_sop", args)[0] == 200
        agent_token_revoke(actor=None, token=AgentToken.objects.get(name="reader"))
        wait_until(
            lambda: post_tool(bridge.url, library["reader"], "get_specific_sop", args)[0] == 401,
            timeout=2,
            message="the revoked token to be refused",
        )


def test_propose__reader_scope__forbidden_error_result(
    live_server: Any, library: dict[str, str], cache_dir: Path
) -> None:
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        status, body = post_tool(
            bridge.url,
            library["reader"],
            "propose_sop_change",
            {"category": "product", "sop_key": "warranty_information", "content": "x", "rationale": "y"},
        )
    is_error, payload = reply_of(body)
    assert status == 200 and is_error
    assert "sop:propose" in payload["detail"]
    assert not SOPVersion.objects.filter(origin="agent").exists()


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("get_sop_for_question", {}, "question"),
        ("get_sop_for_question", {"question": "   "}, "non-empty"),
        ("get_sop_for_question", {"question": 42}, "question"),
        ("get_sop_for_question", {"question": "x" * 5000}, "4000"),
        ("get_specific_sop", {"category": "product"}, "sop_key"),
        ("get_specific_sop", {"category": ["a"], "sop_key": "b"}, "category"),
        ("get_specific_sop", {"category": "nope", "sop_key": "b"}, "Category not found"),
        (
            "propose_sop_change",
            {"category": "product", "sop_key": "warranty_information", "content": "", "rationale": "r"},
            "content",
        ),
        (
            "propose_sop_change",
            {"category": "product", "sop_key": "nope", "content": "c", "rationale": "r"},
            "No SOP product/nope",
        ),
    ],
)
def test_invalid_arguments__clear_error_result(
    live_server: Any, library: dict[str, str], cache_dir: Path, tool: str, arguments: Any, expected: str
) -> None:
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        status, body = post_tool(bridge.url, library["agent"], tool, arguments)
    assert status == 200
    is_error, payload = reply_of(body)
    assert is_error
    assert expected in str(payload)


def test_unknown_tool__json_rpc_error(live_server: Any, library: dict[str, str], cache_dir: Path) -> None:
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        status, body = post_tool(
            bridge.url, library["agent"], "add_sop_entry", {"category": "x", "sop_key": "y", "sop_content": "z"}
        )
    assert status == 200
    assert ("error" in body) or body["result"]["isError"]


def test_tool_call_log__what_the_agent_got(live_server: Any, library: dict[str, str], cache_dir: Path) -> None:
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        post_tool(bridge.url, library["reader"], "get_sop_for_question", {"question": "My account is locked"})
        post_tool(bridge.url, library["reader"], "get_specific_sop", {"category": "nope", "sop_key": "x"})
        wait_until(lambda: ToolCall.objects.count() >= 2, timeout=5, message="the tool calls to be logged")
    routed = ToolCall.objects.get(tool="get_sop_for_question")
    live = SOPVersion.objects.get(sop__key="account_lockout", status="live")
    assert (routed.agent_name, routed.sop_slug, routed.version_number) == (
        "reader",
        "technical_support/account_lockout",
        1,
    )
    assert routed.content_sha256 == live.content_sha256
    assert routed.agent_token.name == "reader"
    assert len(routed.arguments_sha256) == 64 and routed.latency_ms > 0
    failed = ToolCall.objects.get(tool="get_specific_sop")
    assert failed.is_error and failed.error == "Category not found"


def test_resources__list_and_read(live_server: Any, library: dict[str, str], cache_dir: Path) -> None:
    async def scenario(url: str) -> tuple[list[str], str]:
        async with mcp_session(url, library["reader"]) as session:
            listed = await session.list_resources()
            read = await session.read_resource("sop://billing/refund_policy")
            return [str(r.uri) for r in listed.resources], read.contents[0].text  # type: ignore[union-attr]

    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        uris, text = asyncio.run(scenario(bridge.url))
    assert "sop://billing/refund_policy" in uris and len(uris) == 9
    assert text == SOPVersion.objects.get(sop__key="refund_policy", status="live").content


def test_regression_client__wrong_token__exit_1_saying_401(
    live_server: Any, library: dict[str, str], cache_dir: Path, capsys: Any
) -> None:
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        code = regression.main([bridge.url, "--token", "not-a-token"])
    assert code == 1
    assert "HTTP 401 Unauthorized: the token is missing, unknown or revoked (use --token)" in capsys.readouterr().err


def test_routing_by_meaning__real_mcp__paraphrase_reached_and_question_logged(
    live_server: Any, library: dict[str, str], cache_dir: Path
) -> None:
    paraphrase = "My profile is frozen after several failed sign-ins"  # no word of the SOP's texts
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        health = bridge.health()
        assert health is not None and set(health["routing"]) == {"minilm", "use"}
        _, body = post_tool(bridge.url, library["reader"], "get_sop_for_question", {"question": paraphrase})
        _, elsewhere = post_tool(
            bridge.url, library["reader"], "get_sop_for_question", {"question": "Recommend me a good pizza place"}
        )
        wait_until(lambda: ToolCall.objects.count() >= 2, timeout=5, message="the tool calls to be logged")
    is_error, payload = reply_of(body)
    assert not is_error and payload["sop_key"] == "account_lockout"
    assert reply_of(elsewhere)[1]["category"] == "general"
    logged = ToolCall.objects.get(sop_slug="technical_support/account_lockout")
    assert logged.question == paraphrase
    assert ToolCall.objects.get(question="Recommend me a good pizza place").sop_slug == ""
    assert (cache_dir / "embeddings").is_dir()  # the library's vectors persist for the next start


def test_nul_in_an_argument__clear_error_and_logging_goes_on(
    live_server: Any, library: dict[str, str], cache_dir: Path
) -> None:
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        _, bad = post_tool(
            bridge.url,
            library["reader"],
            "get_sop_for_question",
            {"question": "My account is locked", "routing_key": "conv\x001"},
        )
        _, good = post_tool(bridge.url, library["reader"], "get_sop_for_question", {"question": "My account is locked"})
        wait_until(lambda: ToolCall.objects.count() >= 2, timeout=5, message="both calls to be logged")
        health = bridge.health()
    is_error, payload = reply_of(bad)
    assert is_error and "'routing_key' contains a control character" in payload["detail"]
    assert not reply_of(good)[0]
    assert ToolCall.objects.get(is_error=True).routing_key == "conv\ufffd1"
    assert health is not None and health["status"] == "ok"
    assert (health["calls_spooled"], health["calls_refused"], health["telemetry_error"]) == (0, 0, "")


def test_get_mcp__405_at_once_not_an_endless_stream(live_server: Any, library: dict[str, str], cache_dir: Path) -> None:
    import httpx

    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        started = time.monotonic()
        response = httpx.get(
            bridge.url,
            headers={"Authorization": f"Bearer {library['reader']}", "Accept": "text/event-stream"},
            timeout=5,
        )
        assert response.status_code == 405 and response.headers["allow"] == "POST"
        assert time.monotonic() - started < 2
        _, body = post_tool(bridge.url, library["reader"], "get_sop_for_question", {"question": "My account is locked"})
        assert not reply_of(body)[0]  # POST still served


def test_bridge_killed__no_tool_call_lost(live_server: Any, library: dict[str, str], cache_dir: Path) -> None:
    """SIGKILL right after the replies, before any flush: the next bridge ships every record."""
    slow_flush = {"SOPGOV_BRIDGE_FLUSH_SECONDS": "60"}
    with running_bridge(live_server.url, library["bridge"], cache_dir, extra_env=slow_flush) as bridge:
        for i in range(40):
            post_tool(bridge.url, library["reader"], "get_sop_for_question", {"question": f"Locked out {i}"})
        bridge.process.kill()
        bridge.process.wait(5)
    assert ToolCall.objects.count() == 0
    with running_bridge(live_server.url, library["bridge"], cache_dir):
        wait_until(lambda: ToolCall.objects.count() >= 40, timeout=10, message="the journal to be shipped")
    assert ToolCall.objects.count() == 40
    assert {c.question for c in ToolCall.objects.all()} == {f"Locked out {i}" for i in range(40)}


def test_python_client_config__asks_a_running_bridge(
    live_server: Any, library: dict[str, str], cache_dir: Path, tmp_path: Path
) -> None:
    """The script shown with a new token (official SDK, streamable HTTP) runs as it is."""
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        script = next(c for c in client_configs(library["reader"], url=bridge.url) if c.key == "python")
        (tmp_path / "ask_sopgov.py").write_text(script.text)
        done = subprocess.run(
            [sys.executable, "ask_sopgov.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "tools: " in done.stdout and "get_sop_for_question" in done.stdout
    assert "refund" in done.stdout.lower()


# Each tool's answers and error answers (argument errors found by the SDK included).
REPLIES_TO_CHECK: dict[str, list[dict[str, Any]]] = {
    "list_sop_categories": [{}],
    "get_sop_for_question": [
        {"question": "How do I get my money back for an order?"},
        {"question": "What is the weather on Mars?"},
        {"question": ""},
        {"question": 42},
    ],
    "get_specific_sop": [
        {"category": "billing", "sop_key": "refund_policy"},
        {"category": "nope", "sop_key": "refund_policy"},
        {"category": "billing", "sop_key": "nope"},
        {"category": "billing", "sop_key": "a\x00b"},
    ],
    "report_sop_outcome": [
        {"routing_key": "c1", "category": "billing", "sop_key": "refund_policy", "outcome": "resolved"},
        {"routing_key": "c1", "category": "billing", "sop_key": "refund_policy", "outcome": "great"},
        {"routing_key": "c1", "category": "billing", "sop_key": "refund_policy", "outcome": "resolved", "version": 99},
    ],
    "propose_sop_change": [
        {"category": "billing", "sop_key": "refund_policy", "content": "# New\n1. Step.", "rationale": "clearer"},
        {"category": "billing", "sop_key": "nope", "content": "# New", "rationale": "x"},
        {"category": "billing", "sop_key": "refund_policy", "content": " ", "rationale": "x"},
    ],
}


def test_tools__metadata_and_every_reply_matches_its_output_schema(
    live_server: Any, library: dict[str, str], cache_dir: Path
) -> None:
    """Every tool has a title, annotations and an outputSchema; every reply, errors included,
    carries structuredContent that validates against it (checked with jsonschema here; the
    official client also checks successful ones)."""
    import jsonschema

    from apps.agents.services import agent_token_issue

    token = agent_token_issue(actor=None, name="all-scopes", scopes=["sop:read", "sop:propose", "sop:report"])[1]

    async def scenario(url: str) -> tuple[list[Any], list[tuple[str, dict[str, Any], Any]]]:
        async with mcp_session(url, token) as session:
            tools = (await session.list_tools()).tools
            results = []
            for name, calls in REPLIES_TO_CHECK.items():
                for arguments in calls:
                    results.append((name, arguments, await session.call_tool(name, arguments)))
            return tools, results

    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        tools, results = asyncio.run(scenario(bridge.url))
    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == set(REPLIES_TO_CHECK)
    for tool in tools:
        assert tool.title and tool.annotations is not None and tool.output_schema, tool.name
        assert tool.annotations.open_world_hint is False and tool.annotations.destructive_hint is False
        assert tool.annotations.read_only_hint is (
            tool.name in {"list_sop_categories", "get_sop_for_question", "get_specific_sop"}
        )
    assert by_name["report_sop_outcome"].input_schema["properties"]["outcome"]["enum"] == [
        "resolved",
        "escalated",
        "complaint",
        "error",
    ]
    errors = 0
    for name, arguments, result in results:
        assert result.structured_content is not None, (name, arguments)
        jsonschema.validate(result.structured_content, by_name[name].output_schema)
        errors += bool(result.is_error)
        if result.is_error:
            assert result.structured_content["error"], (name, arguments)
    assert errors == 9  # every call above but the first of each tool


def test_server_info_version_and_follow_sop_prompt(live_server: Any, library: dict[str, str], cache_dir: Path) -> None:
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    from mcp_bridge import __version__

    async def scenario(url: str) -> tuple[Any, list[str], str]:
        headers = {"Authorization": f"Bearer {library['reader']}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    initialized = await session.initialize()
                    prompts = [p.name for p in (await session.list_prompts()).prompts]
                    prompt = await session.get_prompt("follow_sop", {"category": "billing", "sop_key": "refund_policy"})
                    return initialized.server_info, prompts, prompt.messages[0].content.text  # type: ignore[union-attr]

    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        info, prompts, text = asyncio.run(scenario(bridge.url))
    assert (info.name, info.version) == ("sopgov", __version__)
    assert prompts == ["follow_sop"]
    live = SOPVersion.objects.get(sop__key="refund_policy", status="live")
    assert f"billing/refund_policy, version {live.number}" in text and live.content in text


def test_metrics__prometheus_text_summed_over_two_workers(
    live_server: Any, library: dict[str, str], cache_dir: Path
) -> None:
    """/metrics in Prometheus' text format: calls by tool and outcome and their latency summed
    over both uvicorn workers, bundle age, spool depth and what is served."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    args = {"category": "billing", "sop_key": "refund_policy"}
    with running_bridge(
        live_server.url, library["bridge"], cache_dir, extra_env={"SOPGOV_BRIDGE_WORKERS": "2"}
    ) as bridge:
        for _ in range(12):
            post_tool(bridge.url, library["reader"], "get_specific_sop", args)
        for _ in range(3):
            post_tool(bridge.url, library["reader"], "get_specific_sop", {"category": "nope", "sop_key": "x"})
        post_tool(bridge.url, library["reader"], "no_such_tool", {})
        response = httpx.get(bridge.url.replace("/mcp", "/metrics"), timeout=5)
        served = bridge.health()["bundle_sha256"]  # type: ignore[index]
    # both workers write their counts to the shared directory; /metrics sums the files
    assert list((cache_dir / "prometheus").glob("counter_*.db"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    ok = (("outcome", "ok"), ("tool", "get_specific_sop"))
    failed = (("outcome", "error"), ("tool", "get_specific_sop"))
    assert samples[("sopgov_bridge_tool_calls_total", ok)] == 12
    assert samples[("sopgov_bridge_tool_calls_total", failed)] == 3
    assert samples[("sopgov_bridge_tool_call_duration_seconds_count", (("tool", "get_specific_sop"),))] == 15
    assert not any(dict(labels).get("tool") == "no_such_tool" for _, labels in samples)
    assert samples[("sopgov_bridge_spooled_records", ())] >= 0
    assert 0 <= samples[("sopgov_bridge_bundle_age_seconds", ())] < 120
    info = next(labels for name, labels in samples if name == "sopgov_bridge_info")
    assert dict(info)["bundle_sha256"] == served


def test_metrics__repeated_question__routed_once_from_the_decision_cache(
    live_server: Any, library: dict[str, str], cache_dir: Path
) -> None:
    """A question asked three times is embedded and routed once; /metrics counts the cache."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        replies = [
            post_tool(bridge.url, library["reader"], "get_sop_for_question", {"question": question})
            for question in ["I forgot my password", "I forgot my password", "How long is the warranty?"]
            + ["I forgot my password"]
        ]
        response = httpx.get(bridge.url.replace("/mcp", "/metrics"), timeout=5)
    answers = [reply_of(body)[1]["sop_key"] for _, body in replies]
    assert answers[0] == answers[1] == answers[3] == "password_reset" and answers[2] == "warranty_information"
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("sopgov_bridge_routing_cache_total", (("result", "hit"),))] == 2
    assert samples[("sopgov_bridge_routing_cache_total", (("result", "miss"),))] == 2
    assert samples[("sopgov_bridge_question_cache_total", (("result", "miss"),))] == 2  # embedded twice


def test_client_ask__prints_what_would_be_served(
    live_server: Any, library: dict[str, str], cache_dir: Path, capsys: Any
) -> None:
    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        code = regression.main(
            ["ask", "How do I get my money back?", "--url", bridge.url, "--token", library["reader"]]
        )
        out = capsys.readouterr().out
        none = regression.main(
            ["ask", "What is the capital of Mongolia?", "--url", bridge.url, "--token", library["reader"]]
        )
        general = capsys.readouterr().out
        refused = regression.main(["ask", "refund", "--url", bridge.url, "--token", "not-a-token"])
    live = SOPVersion.objects.get(sop__key="refund_policy", status="live")
    assert code == 0 and out.startswith(f"Served billing/refund_policy v{live.number}: ")
    assert live.content.strip() in out
    assert none == 0 and general.startswith("No SOP fits this question")
    assert refused == 1


def test_resource_templates_completion_and_version_pinned_uri(
    live_server: Any, library: dict[str, str], cache_dir: Path
) -> None:
    """Over the official client: the two templates, argument completion for category and key,
    and the version-pinned URI a tool reply names, read back as a resource."""
    from mcp_types import PromptReference, ResourceTemplateReference

    async def scenario(url: str) -> dict[str, Any]:
        async with mcp_session(url, library["reader"]) as session:
            templates = [t.uri_template for t in (await session.list_resource_templates()).resource_templates]
            template = ResourceTemplateReference(type="ref/resource", uri="sop://{category}/{key}")
            categories = await session.complete(template, {"name": "category", "value": "b"})
            keys = await session.complete(
                template, {"name": "key", "value": "re"}, context_arguments={"category": "billing"}
            )
            prompt_keys = await session.complete(
                PromptReference(type="ref/prompt", name="follow_sop"),
                {"name": "sop_key", "value": ""},
                context_arguments={"category": "technical_support"},
            )
            served = await session.call_tool("get_specific_sop", {"category": "billing", "sop_key": "refund_policy"})
            uri = served.meta["sopgov/served"]["uri"]  # type: ignore[index]
            pinned = await session.read_resource(uri)
            try:
                await session.read_resource("sop://billing/refund_policy@999")
                missing = ""
            except Exception as exc:
                missing = str(exc)
            return {
                "templates": templates,
                "categories": categories.completion.values,
                "keys": keys.completion.values,
                "prompt_keys": prompt_keys.completion.values,
                "uri": uri,
                "pinned": pinned.contents[0].text,  # type: ignore[union-attr]
                "missing": missing,
            }

    with running_bridge(live_server.url, library["bridge"], cache_dir) as bridge:
        got = asyncio.run(scenario(bridge.url))
    live = SOPVersion.objects.get(sop__key="refund_policy", status="live")
    assert set(got["templates"]) == {"sop://{category}/{key}", "sop://{category}/{key}@{version}"}
    assert got["categories"] == ["billing"]
    assert got["keys"] == ["refund_policy"]
    assert "account_lockout" in got["prompt_keys"] and "refund_policy" not in got["prompt_keys"]
    assert got["uri"] == f"sop://billing/refund_policy@{live.number}" and got["pinned"] == live.content
    assert "Version 999 of billing/refund_policy is not served now" in got["missing"]
