"""sopgov MCP bridge: serves the current bundle of governed SOPs as MCP tools and resources."""

__version__ = "0.3.0"
