"""Bridge pieces on their own: terms, routing, bundle verification, replies, credentials, call log."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_bridge.app_client import AppUnavailable, TelemetryRefused
from mcp_bridge.auth import Credentials
from mcp_bridge.bundle_format import BUNDLE_FORMAT, BundleError, bundle_sha256, canonical_bytes, parse_and_verify
from mcp_bridge.calllog import BATCH_SIZE, CallLog, make_record
from mcp_bridge.library import Library
from mcp_bridge.replies import (
    MULTIPLE_SOPS_TEXT,
    NO_SOP_TEXT,
    list_categories,
    outcome_report,
    sop_for_question,
    specific_sop,
)
from mcp_bridge.routing import RoutableSOP, Router
from mcp_bridge.text import terms


def sop_entry(category: str, key: str, title: str, summary: str, content: str, examples: list[str]) -> dict[str, Any]:
    return {
        "category": category,
        "key": key,
        "title": title,
        "summary": summary,
        "example_questions": examples,
        "version": 1,
        "version_id": 1,
        "content": content,
        "content_sha256": hashlib.sha256(content.encode()).hexdigest(),
    }


LIBRARY = [
    sop_entry(
        "billing",
        "refund_policy",
        "Refund policy",
        "Use when a customer wants money back for an order.",
        "Refunds within 30 days with a receipt.",
        ["Can I get a refund?", "I want my money back"],
    ),
    sop_entry(
        "technical_support",
        "account_lockout",
        "Account lockout",
        "Use when the account is locked.",
        "Check the security logs, then unlock.",
        ["My account is locked", "I can't log in, locked out"],
    ),
    sop_entry(
        "technical_support",
        "password_reset",
        "Password reset",
        "Use when the customer forgot the password.",
        "Verify identity and send a temporary password.",
        ["I forgot my password", "reset my password"],
    ),
    sop_entry(
        "product",
        "warranty_information",
        "保修信息",
        "客户询问产品保修期限时使用。",
        "标准保修期为购买之日起十二个月。",
        ["我的产品还在保修期内吗？", "保修多长时间"],
    ),
]


def library() -> Library:
    payload = {"format": BUNDLE_FORMAT, "categories": [], "sops": LIBRARY}
    return Library.from_bytes(canonical_bytes(payload))


def test_terms__english_stemmed_and_stop_words_dropped() -> None:
    assert terms("My accounts are LOCKED and I can't log in!") == ["account", "lock", "cant", "log"]


def test_terms__cjk_bigrams_and_single_characters() -> None:
    assert terms("保修多长时间") == ["保修", "修多", "多长", "长时", "时间", "保", "修", "多", "长", "时", "间"]
    assert terms("卡 lost") == ["卡", "lost"]


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_terms__any_text__never_raises_and_no_empty_terms(text: str) -> None:
    assert all(terms(text))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("I'd like a refund for my order", "billing/refund_policy"),
        ("help, my account got locked", "technical_support/account_lockout"),
        ("forgot password", "technical_support/password_reset"),
        ("这个产品的保修期是多久？", "product/warranty_information"),
        ("我的产品坏了，还在保修期内吗", "product/warranty_information"),
    ],
)
def test_route__library__expected_sop(question: str, expected: str) -> None:
    reply = sop_for_question(library(), question)
    assert f"{reply.payload['category']}/{reply.payload['sop_key']}" == expected
    assert reply.served is not None and reply.served.slug == expected
    assert reply.payload["version"] == 1 and len(reply.payload["content_sha256"]) == 64


@pytest.mark.parametrize("question", ["What's the weather in Lisbon?", "今天天气怎么样", "?!", "tell me a joke"])
def test_route__out_of_scope__general(question: str) -> None:
    reply = sop_for_question(library(), question)
    assert reply.payload == {"category": "general", "sop_content": NO_SOP_TEXT}
    assert reply.served is None


def test_route__tie_within_category__category_list() -> None:
    router = Router(
        [
            RoutableSOP("c", "first", "Same words", "s", "same words here", ["same words"]),
            RoutableSOP("c", "second", "Same words", "s", "same words here", ["same words"]),
        ]
    )
    decision = router.route("same words")
    assert decision.kind == "category" and decision.category == "c"


def test_route__category_reply__seed_shape() -> None:
    payload = {
        "format": BUNDLE_FORMAT,
        "categories": [],
        "sops": [
            sop_entry("c", "first", "Same words", "s", "same words here", ["same words"]),
            sop_entry("c", "second", "Same words", "s", "same words here", ["same words"]),
        ],
    }
    reply = sop_for_question(Library.from_bytes(canonical_bytes(payload)), "same words")
    assert reply.payload["sop_list"] == ["first", "second"]
    assert reply.payload["sop_content"] == MULTIPLE_SOPS_TEXT
    assert {s["sop_key"] for s in reply.payload["sops"]} == {"first", "second"}


def test_route__empty_library__general() -> None:
    assert sop_for_question(Library.empty(), "refund").payload["category"] == "general"


def test_specific__unknown_category_and_key__errors_list_what_exists() -> None:
    lib = library()
    missing_category = specific_sop(lib, "shipping", "x")
    assert missing_category.is_error
    assert missing_category.payload == {
        "error": "Category not found",
        "available_categories": ["billing", "technical_support", "product"],
    }
    missing_key = specific_sop(lib, "technical_support", "x")
    assert missing_key.payload == {
        "error": "SOP key not found",
        "available_sops": ["account_lockout", "password_reset"],
    }
    assert list_categories(lib).payload == ["billing", "technical_support", "product"]


def test_bundle__canonical_and_verified() -> None:
    payload = {"format": BUNDLE_FORMAT, "categories": [], "sops": LIBRARY}
    raw = canonical_bytes(payload)
    assert raw == canonical_bytes(json.loads(raw))
    assert "保修信息".encode() in raw  # non-ASCII kept as is
    assert parse_and_verify(raw, bundle_sha256(raw)) == payload


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw.replace(b"30 days", b"90 days"), "content hash mismatch"),
        (lambda raw: raw + b" ", "not in canonical form"),
        (lambda raw: raw.replace(BUNDLE_FORMAT.encode(), b"other/9"), "unknown bundle format"),
        (lambda raw: raw[:-5], "not valid JSON"),
    ],
)
def test_bundle__tampered__refused(mutate: Any, message: str) -> None:
    raw = mutate(canonical_bytes({"format": BUNDLE_FORMAT, "categories": [], "sops": LIBRARY}))
    with pytest.raises(BundleError, match=message):
        parse_and_verify(raw)


def test_bundle__wrong_expected_hash__refused() -> None:
    raw = canonical_bytes({"format": BUNDLE_FORMAT, "categories": [], "sops": LIBRARY})
    with pytest.raises(BundleError, match="hash mismatch"):
        parse_and_verify(raw, "0" * 64)


def test_credentials__hash_lookup() -> None:
    raw = "sgv_" + "x" * 43
    creds = Credentials(
        {
            "tokens": [
                {"id": 7, "name": "bot", "sha256": hashlib.sha256(raw.encode()).hexdigest(), "scopes": ["sop:read"]}
            ]
        }
    )
    caller = creds.authenticate(raw)
    assert caller is not None and (caller.token_id, caller.name, caller.has("sop:read"), caller.has("sop:propose")) == (
        7,
        "bot",
        True,
        False,
    )
    assert creds.authenticate("sgv_other") is None


class _App:
    """Stands in for the app's ingest endpoint: fails ``failures`` times, or hangs when ``hang``."""

    def __init__(self, failures: int = 0, hang: bool = False, refuse: int = 0) -> None:
        self.failures, self.hang, self.refuse, self.received = failures, hang, refuse, []
        self.posts = 0

    async def post_telemetry(self, bridge_id: str, calls: list[dict[str, Any]]) -> int:
        self.posts += 1
        if self.hang:
            await anyio.sleep(60)
        if self.refuse:
            self.refuse -= 1
            raise TelemetryRefused("HTTP 400 {'calls': ['Expected a list']}")
        if self.failures:
            self.failures -= 1
            raise AppUnavailable("HTTP 503")
        self.received.extend(calls)
        return len(calls)


def _record(i: int) -> dict[str, Any]:
    return make_record(tool="get_specific_sop", arguments={"i": i}, caller=None, bundle_sha256="b", latency_ms=1.0)


def test_call_log__app_down__spooled_then_delivered_once(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.jsonl")
    app = _App(failures=2)
    for i in range(3):
        log.add(_record(i))

    async def scenario() -> None:
        assert await log.flush(app, "b1") == 0  # type: ignore[arg-type]
        log.add(_record(3))
        assert await log.flush(app, "b1") == 0  # type: ignore[arg-type]
        assert log.spooled() == 4
        assert await log.flush(app, "b1") == 4  # type: ignore[arg-type]

    anyio.run(scenario)
    assert [json.loads(json.dumps(c))["arguments_sha256"] for c in app.received] == [
        _record(i)["arguments_sha256"] for i in range(4)
    ]
    assert log.spooled() == 0


def test_call_log__flush_cancelled__records_kept(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.jsonl")
    for i in range(5):
        log.add(_record(i))

    async def scenario() -> None:
        with anyio.move_on_after(0.1):
            await log.flush(_App(hang=True), "b1")  # type: ignore[arg-type]

    anyio.run(scenario)
    assert log.spooled() == 5


def test_call_log__batch_refused_as_invalid__set_aside_not_resent_later_ones_delivered(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.jsonl")
    app = _App(refuse=1)
    for i in range(BATCH_SIZE + 3):  # two batches: the first is refused
        log.add(_record(i))

    async def scenario() -> None:
        assert await log.flush(app, "b1") == 3  # type: ignore[arg-type]
        assert "telemetry refused: HTTP 400" in log.last_error
        log.add(_record(-1))
        assert await log.flush(app, "b1") == 1  # type: ignore[arg-type]

    anyio.run(scenario)
    assert app.posts == 3 and len(app.received) == 4
    assert log.spooled() == 0 and log.refused == BATCH_SIZE and log.last_error == ""
    kept = (tmp_path / "calls.refused.jsonl").read_text().splitlines()
    assert [json.loads(line)["arguments_sha256"] for line in kept] == [
        _record(i)["arguments_sha256"] for i in range(BATCH_SIZE)
    ]


def test_call_record__nul_in_routing_key_and_question__replaced() -> None:
    record = make_record(
        tool="get_sop_for_question",
        arguments={"question": "refund\x00?"},
        caller=None,
        bundle_sha256="b",
        latency_ms=1.0,
        routing_key="c\x00",
    )
    assert (record["question"], record["routing_key"]) == ("refund\ufffd?", "c\ufffd")


def test_call_log__process_gone_before_flush__journal_recovered_once(tmp_path: Path) -> None:
    dead = CallLog(tmp_path / "calls.jsonl")
    for i in range(3):
        dead.add(_record(i))
    assert len(dead.journal_path.read_text().splitlines()) == 3  # written before any flush
    # a new bridge on the same cache directory (the journal's process is this one: not another live bridge)
    fresh = CallLog(tmp_path / "calls.jsonl")
    assert fresh.recover_journals() == 3 and fresh.recover_journals() == 0
    app = _App()
    anyio.run(lambda: fresh.flush(app, "b1"))  # type: ignore[arg-type]
    assert [c["arguments_sha256"] for c in app.received] == [_record(i)["arguments_sha256"] for i in range(3)]


def test_call_log__flushed_records_leave_the_journal(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.jsonl")
    log.add(_record(0))
    anyio.run(lambda: log.flush(_App(), "b1"))  # type: ignore[arg-type]
    log.add(_record(1))
    assert [json.loads(line)["arguments_sha256"] for line in log.journal_path.read_text().splitlines()] == [
        _record(1)["arguments_sha256"]
    ]
    assert not list(tmp_path.glob("*.sending"))


def test_outcome_report__version_never_served__refused_not_recorded() -> None:
    lib = library()  # billing/refund_policy is served at version 1
    assert outcome_report(lib, "conv-1", "billing", "refund_policy", "resolved").payload["status"] == "recorded"
    assert outcome_report(lib, "conv-1", "billing", "refund_policy", "resolved", 1).payload["version"] == 1
    refused = outcome_report(lib, "conv-1", "billing", "refund_policy", "complaint", 2)
    assert refused.is_error and "'version' 2 of billing/refund_policy was never served" in str(refused.payload)


def test_call_log__spooled_count__reread_only_when_the_spool_changes(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.jsonl")
    assert log.spooled() == 0
    log.spool_path.write_text('{"a": 1}\n{"a": 2}\n')
    assert log.spooled() == 2
    opened = []
    original = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self)
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "open", counting_open)
        assert [log.spooled() for _ in range(50)] == [2] * 50
        assert opened == []  # unchanged file: not read again
        with original(log.spool_path, "a") as fh:
            fh.write('{"a": 3}\n')
        assert log.spooled() == 3
        assert opened == [log.spool_path]


def test_config__sessions_need_one_worker() -> None:
    from mcp_bridge.config import BridgeConfig

    with pytest.raises(ValueError, match="SOPGOV_BRIDGE_SESSIONS=1 needs SOPGOV_BRIDGE_WORKERS=1"):
        BridgeConfig.from_env(workers=2, sessions=True)
    assert BridgeConfig.from_env(workers=1, sessions=True).sessions is True


@pytest.mark.parametrize("name", ["a.b", "a b", "x" * 33, "é"])
def test_config__instance_name__letters_digits_dashes_only(name: str) -> None:
    from mcp_bridge.config import BridgeConfig

    with pytest.raises(ValueError, match="SOPGOV_BRIDGE_INSTANCE"):
        BridgeConfig.from_env(instance=name)
    assert BridgeConfig.from_env(instance="bridge-2").instance == "bridge-2"


def test_instance_session_ids__prefixed_out__stripped_in__foreign_ids_untouched() -> None:

    from mcp_bridge.sessions import instance_session_ids

    seen: list[bytes | None] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope["headers"]).get(b"mcp-session-id"))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"mcp-session-id", b"3f2c")]})

    async def request(session: bytes | None, instance: str) -> list[Any]:
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        headers = [(b"host", b"x")] + ([(b"mcp-session-id", session)] if session else [])
        await instance_session_ids(app, instance)({"type": "http", "headers": headers}, None, send)
        return sent

    sent = anyio.run(request, None, "a")
    assert dict(sent[0]["headers"])[b"mcp-session-id"] == b"a.3f2c"  # issued with the prefix
    anyio.run(request, b"a.3f2c", "a")
    anyio.run(request, b"b.3f2c", "a")  # another bridge's session: the manager will answer 404
    assert seen == [None, b"3f2c", b"b.3f2c"]
    assert instance_session_ids(app, "") is app
