"""Rate limits that fail open when the cache (Redis) is down, rather than refusing service."""

from __future__ import annotations

import logging

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class FailOpenScopedRateThrottle(ScopedRateThrottle):
    """``ScopedRateThrottle`` that allows the request (and logs) if the cache cannot be reached."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("rate-limit cache unavailable; request allowed", exc_info=True)
            return True


class PerAgentTokenThrottle(FailOpenScopedRateThrottle):
    """``FailOpenScopedRateThrottle`` counted per agent token (``request.auth``), not per user or
    address: one token's burst does not spend another's allowance."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        token_pk = getattr(getattr(request, "auth", None), "pk", None)
        if token_pk is None:
            return super().get_cache_key(request, view)
        return self.cache_format % {"scope": self.scope, "ident": f"token-{token_pk}"}
