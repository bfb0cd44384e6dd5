"""Format and hashing of agent tokens (no database access)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "sgv_"


def generate_token() -> str:
    """Return a new token: ``sgv_`` + 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(raw: str) -> str:
    """Return the hex sha256 of ``raw``, the only form in which tokens are stored."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
