"""ASGI entry point: ``uvicorn mcp_bridge.asgi:app`` (configured from environment variables)."""

from .config import BridgeConfig
from .server import build_app
from .state import BridgeState

app = build_app(BridgeState(BridgeConfig.from_env()))
