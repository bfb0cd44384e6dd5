"""``Authorization: Bearer <agent token>`` for agents and bridges, with scope checks."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework import permissions as drf_permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from ..models import AgentToken
from ..permissions import agent_has_scope
from ..services import agent_token_authenticate


class AgentTokenAuthentication(BaseAuthentication):
    """Authenticate an agent token; ``request.auth`` is the ``AgentToken``."""

    def authenticate(self, request: Request) -> tuple[Any, AgentToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header; use 'Bearer <token>'.")
        token = agent_token_authenticate(parts[1].decode("latin-1"))
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked agent token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="sopgov"'


def require_scope(scope: str) -> type[drf_permissions.BasePermission]:
    """Return a permission class allowing only agent tokens that carry ``scope``."""

    class HasScope(drf_permissions.BasePermission):
        message = f"This endpoint needs an agent token with the {scope} scope."

        def has_permission(self, request: Request, view: object) -> bool:
            return isinstance(request.auth, AgentToken) and agent_has_scope(request.auth, scope)

    HasScope.__name__ = f"HasScope_{scope.replace(':', '_')}"
    return HasScope
