"""OAuth 2.1 access tokens from an identity provider, beside sopgov's agent tokens.

A bridge that faces clients of an identity provider (MCP 2025-11-25, "Authorization") accepts
JWT access tokens: signature checked against the issuer's JWKS (PyJWT's ``PyJWKClient``, keys
cached five minutes), ``iss``, ``aud`` (this bridge's resource URL or the configured audience),
``exp`` and ``nbf`` required and checked with 30 s of leeway — the SDK's default verifier does
not check the audience. Scopes come from ``scope`` (a space-separated string, RFC 9068 §2.2.3)
or ``scp`` (a list); the bridge's scopes ``sop:read``, ``sop:propose`` and ``sop:report`` are
kept, others ignored.

It publishes its protected-resource metadata (RFC 9728) at
``/.well-known/oauth-protected-resource`` and names it in every 401's ``WWW-Authenticate``
header, so a client can find the authorization server. Agent tokens stay the default: OAuth is
on only when ``SOPGOV_BRIDGE_OAUTH_ISSUER`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from .auth import SCOPE_PROPOSE, SCOPE_READ, SCOPE_REPORT

BRIDGE_SCOPES = (SCOPE_READ, SCOPE_PROPOSE, SCOPE_REPORT)
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
METADATA_PATH = "/.well-known/oauth-protected-resource"


class InvalidAccessToken(Exception):
    """The JWT is malformed, badly signed, expired, or for another issuer or audience."""


@dataclass(frozen=True)
class OAuthSettings:
    """``issuer`` (the ``iss`` expected), ``audience`` (the ``aud`` expected), ``jwks_url`` and
    ``resource`` (this bridge's MCP URL, published in the metadata)."""

    issuer: str
    audience: str
    jwks_url: str
    resource: str


def looks_like_jwt(token: str) -> bool:
    """Whether ``token`` has a JWS compact serialisation's shape (three dot-separated parts)."""
    return token.count(".") == 2


class JwtVerifier:
    """Verifies access tokens for one issuer and audience (see the module's docstring)."""

    def __init__(self, settings: OAuthSettings) -> None:
        self.settings = settings
        self._keys = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300, timeout=5)

    def verify(self, token: str) -> tuple[str, frozenset[str]]:
        """Return the caller's name (``client_id``, else ``azp``, else ``sub``) and its bridge
        scopes. Blocking (it may fetch the JWKS): call it from a worker thread.

        Raises:
            InvalidAccessToken: with the reason, for the 401's log line.
        """
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=30,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
            raise InvalidAccessToken(str(exc)) from exc
        return caller_name(claims), bridge_scopes(claims)


def caller_name(claims: dict[str, Any]) -> str:
    """The client the token was issued to, for the tool-call log."""
    return str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or "oauth-client")[:100]


def bridge_scopes(claims: dict[str, Any]) -> frozenset[str]:
    """The bridge scopes granted by ``scope`` (space-separated) or ``scp`` (list or string)."""
    granted: set[str] = set()
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        if isinstance(value, str):
            granted.update(value.split())
        elif isinstance(value, list):
            granted.update(str(v) for v in value)
    return frozenset(granted & set(BRIDGE_SCOPES))


def protected_resource_metadata(settings: OAuthSettings) -> dict[str, Any]:
    """RFC 9728 §2 metadata of this bridge."""
    return {
        "resource": settings.resource,
        "authorization_servers": [settings.issuer],
        "scopes_supported": list(BRIDGE_SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": "sopgov MCP bridge",
    }


def metadata_url(settings: OAuthSettings) -> str:
    """Where the metadata is published (RFC 9728 §3.1: the well-known path inserted between the
    resource's origin and its path, e.g. ``https://h/.well-known/oauth-protected-resource/mcp``)."""
    parts = urlsplit(settings.resource)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}{path}"
