"""The bridge's MCP resources, prompt and completions, and ``resources/list`` paging.

- ``sop://{category}/{key}``: the live Markdown of an SOP, as this conversation is served it.
- ``sop://{category}/{key}@{version}``: one version as served (tool replies name it in
  ``_meta.sopgov/served.uri``); the bridge holds the versions it serves now.
- the prompt ``follow_sop``: an SOP framed for an agent.
- ``completion/complete`` for their arguments: categories, then keys, then versions.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from mcp.server.mcpserver.exceptions import ResourceError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, Completion

from . import replies
from .auth import conversation_key
from .state import BridgeState

RESOURCES_PAGE_SIZE = 50
"""``resources/list`` answers at most this many SOPs per page (MCP "Pagination": opaque cursor)."""


def page_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sop-offset:{offset}".encode()).decode()


def page_offset(cursor: str | None) -> int:
    """The offset a ``resources/list`` cursor stands for; ``MCPError`` -32602 if it is not ours."""
    if not cursor:
        return 0
    try:
        prefix, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix != "sop-offset" or not number.isdigit():
            raise ValueError(cursor)
        return int(number)
    except ValueError as exc:
        raise MCPError(code=INVALID_PARAMS, message="Invalid cursor: use the nextCursor of the last page.") from exc


def resources_page_size() -> int:
    """The page size in force (read at call time, so tests can lower it)."""
    return RESOURCES_PAGE_SIZE


def follow_sop_text(sop: Any) -> str:
    """The ``follow_sop`` prompt's text for one served SOP version (a ``LiveSOP``)."""
    return (
        f'You are handling a customer conversation under the approved SOP "{sop.title}" '
        f"({sop.category}/{sop.key}, version {sop.version}, sha256 {sop.content_sha256[:12]}).\n"
        "Follow its steps in order and do not skip any; respect every 'Do not' rule; do not promise "
        "anything it does not allow. If the customer's case falls outside it, say so and ask for "
        "get_sop_for_question with their words instead of improvising. When the conversation ends, "
        "call report_sop_outcome with its routing_key and the outcome.\n\n"
        f"--- SOP ---\n{sop.content}"
    )


def register_resources(mcp: Any, state: BridgeState) -> None:
    """Add the resource templates, the ``follow_sop`` prompt and the completion handler to ``mcp``."""

    @mcp.prompt(
        name="follow_sop",
        title="Follow an SOP",
        description=(
            "Frame the live SOP category/key for an agent: follow its steps in order, respect its "
            "'Do not' rules, and say when the case falls outside it."
        ),
    )
    def follow_sop(category: str, sop_key: str, routing_key: str | None = None) -> str:
        reply = replies.specific_sop(state.library, category, sop_key, conversation_key(routing_key))
        if reply.is_error or reply.served is None:
            raise ResourceError(f"No live SOP {category}/{sop_key}: {json.dumps(reply.payload, ensure_ascii=False)}")
        return follow_sop_text(reply.served)

    @mcp.resource(
        "sop://{category}/{key}@{version}",
        name="sop-version",
        mime_type="text/markdown",
        description=(
            "One version of the SOP category/key, as a conversation was served it (tool replies name it in "
            "_meta sopgov/served uri). The bridge holds the versions it serves now; the app keeps all of them."
        ),
    )
    def sop_version_resource(category: str, key: str, version: str) -> str:
        library = state.library
        served = [sop for sop in library.served_versions(category, key) if str(sop.version) == version]
        if not served:
            now = ", ".join(f"v{sop.version}" for sop in library.served_versions(category, key)) or "nothing"
            raise ResourceError(
                f"Version {version} of {category}/{key} is not served now (served: {now}); every version is kept "
                "in the sopgov app."
            )
        return served[0].content

    @mcp.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> Completion | None:
        """Values for the SOP templates' and the follow_sop prompt's arguments: categories,
        then the keys of the category chosen, then the versions served."""
        library = state.library
        chosen = dict(getattr(context, "arguments", None) or {})
        prefix = argument.value or ""
        if argument.name == "category":
            values = [c for c in library.categories if c.startswith(prefix)]
        elif argument.name in ("key", "sop_key"):
            sops = library.by_category.get(chosen["category"], []) if chosen.get("category") else library.sops
            values = sorted({sop.key for sop in sops if sop.key.startswith(prefix)})
        elif argument.name == "version":
            key = chosen.get("key") or chosen.get("sop_key") or ""
            versions = library.served_versions(chosen.get("category", ""), key)
            values = [str(sop.version) for sop in versions if str(sop.version).startswith(prefix)]
        else:
            return None
        return Completion(values=values[:100], total=len(values), has_more=len(values) > 100)

    @mcp.resource(
        "sop://{category}/{key}",
        name="sop",
        mime_type="text/markdown",
        description="The live Markdown of the SOP category/key.",
    )
    def sop_resource(category: str, key: str) -> str:
        library = state.library
        sop = library.get(category, key)
        if sop is None:
            raise ResourceError(f"No live SOP {category}/{key}.")
        served, _ = library.resolve(sop, conversation_key(None))
        return served.content
