"""The tool manifest: the tools a bridge offers, with their descriptions and argument schemas.

Its sha256 identifies the tool descriptions agents read. Bridges report it in their heartbeat;
the app computes the one this release of the bridge produces and flags a bridge whose hash
differs (an older or modified bridge telling agents something else about its tools).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any


async def tools_manifest(mcp: Any) -> list[dict[str, Any]]:
    """Return ``[{name, title, description, inputSchema, outputSchema, annotations}]`` of
    ``mcp``'s tools, sorted by name: everything a client reads about a tool."""
    tools = await mcp.list_tools()
    return sorted(
        (
            {
                "name": t.name,
                "title": t.title or "",
                "description": t.description or "",
                "inputSchema": t.input_schema,
                "outputSchema": t.output_schema or {},
                "annotations": t.annotations.model_dump(mode="json", exclude_none=True) if t.annotations else {},
            }
            for t in tools
        ),
        key=lambda t: t["name"],
    )


def manifest_sha256(manifest: list[dict[str, Any]]) -> str:
    """Return the sha256 of the manifest's canonical JSON (sorted keys, no spaces, UTF-8)."""
    raw = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


@lru_cache(maxsize=1)
def expected_tools_sha256() -> str:
    """Return the manifest hash this release of the bridge produces (computed once, no I/O)."""
    import anyio

    from .config import BridgeConfig
    from .server import build_mcp
    from .state import BridgeState

    state = BridgeState(BridgeConfig(cache_dir=Path(tempfile.gettempdir()) / "sopgov-manifest", bridge_id="manifest"))

    async def compute() -> str:
        return manifest_sha256(await tools_manifest(build_mcp(state)))

    return anyio.run(compute)
