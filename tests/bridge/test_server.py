"""mcp_bridge/server.py in-process: the seed's tool contract, how replies are rendered, the scope
and control-character checks in front of every tool. (Over real MCP: test_bridge_e2e.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from mcp_bridge.auth import Caller, current_caller
from mcp_bridge.config import BridgeConfig
from mcp_bridge.replies import Reply, specific_sop
from mcp_bridge.server import TOOL_SCOPES, _caller_lacks, _result, _result_fields, _unstorable_text, build_mcp
from mcp_bridge.state import BridgeState
from tests.bridge.test_units import LIBRARY, library

SEED_TOOLS = {"list_sop_categories", "get_sop_for_question", "get_specific_sop", "propose_sop_change"}


@pytest.fixture
def state(tmp_path: Path) -> BridgeState:
    bridge = BridgeState(BridgeConfig(cache_dir=tmp_path, routing="lexical", bridge_token=""))
    bridge.library = library()
    return bridge


def test_build_mcp__seed_tools_kept_with_their_arguments(state: BridgeState) -> None:
    tools = {tool.name: tool for tool in anyio.run(build_mcp(state).list_tools)}
    assert SEED_TOOLS | {"report_sop_outcome"} == set(tools) == set(TOOL_SCOPES)
    assert set(tools["get_specific_sop"].input_schema["required"]) == {"category", "sop_key"}
    assert tools["get_sop_for_question"].input_schema["required"] == ["question"]


def test_build_mcp__resources_are_the_live_sops(state: BridgeState) -> None:
    resources = anyio.run(build_mcp(state).list_resources)
    assert {str(r.uri) for r in resources} == {f"sop://{s['category']}/{s['key']}" for s in LIBRARY}
    assert all(r.mime_type == "text/markdown" for r in resources)


def test_result__object_reply__json_text_structured_and_served_meta(state: BridgeState) -> None:
    reply = specific_sop(state.library, "billing", "refund_policy", None)
    result = _result(reply, "abc123")
    assert json.loads(result.content[0].text) == result.structured_content == reply.payload
    assert result.meta["sopgov/bundle_sha256"] == "abc123"
    assert result.meta["sopgov/served"]["sop"] == "billing/refund_policy"
    assert result.is_error is False


def test_result__list_reply__one_text_block_per_item_as_the_seed() -> None:
    result = _result(Reply(["billing", "product"]), "abc123")
    assert [block.text for block in result.content] == ["billing", "product"]
    assert result.structured_content == {"result": ["billing", "product"]}


def test_result_fields__model_and_serialised_dict_agree() -> None:
    result = _result(Reply({"error": "Nope"}, is_error=True, error="why"), "abc")
    as_dict = result.model_dump(by_alias=True, mode="json")
    assert _result_fields(result) == _result_fields(as_dict)
    meta, is_error, text = _result_fields(as_dict)
    assert is_error and meta["sopgov/error"] == "why" and "Nope" in text
    assert _result_fields(None) == ({}, False, "")


@pytest.mark.parametrize("value", ["a\x00b", "\x1b[31m", "x\x01"])
def test_unstorable_text__control_character__error_names_the_argument(value: str) -> None:
    reply = _unstorable_text({"question": "fine", "routing_key": value})
    assert reply is not None and reply.is_error
    assert "'routing_key' contains a control character" in reply.payload["detail"]


def test_unstorable_text__tabs_newlines_and_non_text__accepted() -> None:
    assert _unstorable_text({"content": "line 1\n\tline 2\r\n", "version": 3}) is None
    assert _unstorable_text(["not", "a", "dict"]) is None


def _as(caller: Caller | None, scope: str) -> Reply | None:
    token = current_caller.set(caller)
    try:
        return _caller_lacks(scope)
    finally:
        current_caller.reset(token)


def test_caller_lacks__scope_checked_per_token() -> None:
    reader = Caller(token_id=1, name="reader", scopes=frozenset({"sop:read"}))
    assert _as(reader, "sop:read") is None
    refused = _as(reader, "sop:propose")
    assert refused is not None and refused.payload == {
        "error": "Forbidden",
        "detail": "This agent token lacks the sop:propose scope.",
    }
    assert _as(None, "sop:read") is not None  # no caller: nothing is allowed


def test_readable_validation_error__one_line_per_argument() -> None:
    from mcp_bridge.server import _readable_validation_error

    sdk = (
        "Error executing tool report_sop_outcome: 2 validation errors for report_sop_outcomeArguments\n"
        "outcome\n  Input should be 'resolved', 'escalated', 'complaint' or 'error' [type=literal_error, "
        "input_value='happy', input_type=str]\n    For further information visit https://errors.pydantic.dev\n"
        "version\n  Input should be a valid integer [type=int_type, input_value='x', input_type=str]\n"
    )
    assert _readable_validation_error(sdk) == (
        "'outcome': Input should be 'resolved', 'escalated', 'complaint' or 'error'; "
        "'version': Input should be a valid integer"
    )
    assert _readable_validation_error("something else") == "something else"


def test_resources_list__pages_with_an_opaque_cursor(state: BridgeState, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp.shared.exceptions import MCPError
    from mcp_types import PaginatedRequestParams

    from mcp_bridge import resources

    monkeypatch.setattr(resources, "RESOURCES_PAGE_SIZE", 3)
    mcp = build_mcp(state)
    first = anyio.run(mcp._handle_list_resources, None, None)
    assert len(first.resources) == 3 and first.next_cursor
    second = anyio.run(mcp._handle_list_resources, None, PaginatedRequestParams(cursor=first.next_cursor))
    assert len(second.resources) == 1 and second.next_cursor is None
    assert {str(r.uri) for r in first.resources + second.resources} == {
        f"sop://{s['category']}/{s['key']}" for s in LIBRARY
    }
    with pytest.raises(MCPError, match="Invalid cursor"):
        anyio.run(mcp._handle_list_resources, None, PaginatedRequestParams(cursor="not-ours"))


def test_changed_resources__content_rollout_and_removal(state: BridgeState) -> None:
    import copy
    import hashlib

    from mcp_bridge.bundle_format import BUNDLE_FORMAT, canonical_bytes
    from mcp_bridge.library import Library
    from mcp_bridge.sessions import changed_resources

    before = library()
    sops = copy.deepcopy(LIBRARY)
    sops[0]["content"] = "Refunds within 45 days."  # billing/refund_policy changed
    sops[0]["content_sha256"] = hashlib.sha256(sops[0]["content"].encode()).hexdigest()
    del sops[3]  # product/warranty_information retired
    after = Library.from_bytes(canonical_bytes({"format": BUNDLE_FORMAT, "categories": [], "sops": sops}))
    assert changed_resources(before, after) == {"sop://billing/refund_policy", "sop://product/warranty_information"}
    assert changed_resources(before, library()) == set()
