"""Text from other processes, made fit for the database."""

from __future__ import annotations

from typing import Any


def stored_text(value: Any, limit: int, field: str) -> str:
    """Return ``value`` as text of at most ``limit`` characters (``None`` → ``""``).

    Raises:
        ValueError: it holds a NUL character, which PostgreSQL text columns cannot store (the
            whole insert would fail: one bad record must not sink a batch).
    """
    text = str(value or "")[:limit]
    if "\x00" in text:
        raise ValueError(f"{field} contains a NUL character")
    return text
