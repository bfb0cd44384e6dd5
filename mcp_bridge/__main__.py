"""``python -m mcp_bridge serve``: run the MCP bridge (streamable HTTP at ``/mcp``);
``python -m mcp_bridge evaluate …``: measure routing on a library (``evaluate``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .config import BridgeConfig


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["evaluate"]:
        from .evaluate import main as evaluate

        raise SystemExit(evaluate(argv[1:]))
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m mcp_bridge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the current bundle over MCP")
    sub.add_parser("evaluate", help="measure routing on LIBRARY.json QUESTIONS.csv (see --help there)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--app-url", dest="app_url")
    serve.add_argument("--cache-dir", dest="cache_dir")
    serve.add_argument("--workers", type=int)
    serve.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info").lower())
    args = parser.parse_args(argv)
    overrides = {k: getattr(args, k) for k in ("host", "port", "app_url", "workers")}
    if args.cache_dir:
        from pathlib import Path

        overrides["cache_dir"] = Path(args.cache_dir)
    config = BridgeConfig.from_env(**overrides)
    for name, value in overrides.items():  # hand explicit flags to worker processes too
        if value is not None:
            os.environ[f"SOPGOV_BRIDGE_{name.upper()}" if name != "app_url" else "SOPGOV_APP_URL"] = str(value)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Without an app to ship to (on AgentCore), tool calls and outcomes are logged as JSON lines.
    logging.getLogger("mcp_bridge.telemetry").setLevel(logging.INFO)
    for noisy in ("httpx2", "httpcore2", "mcp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    if not config.bridge_token and config.bundle_source == "app":
        logging.getLogger("mcp_bridge").warning("SOPGOV_BRIDGE_TOKEN is not set: the bridge cannot sync from the app")
    if config.workers > 1:  # counters summed over the worker processes (mcp_bridge.metrics)
        from .metrics import prepare_multiprocess_dir

        prepare_multiprocess_dir(config.cache_dir)
    uvicorn.run(
        "mcp_bridge.asgi:app",
        host=config.host,
        port=config.port,
        workers=config.workers,
        log_level=args.log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
