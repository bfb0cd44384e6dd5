"""Project-wide small views: health check and the API token endpoint."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from rest_framework.authtoken.views import ObtainAuthToken

from .throttling import FailOpenScopedRateThrottle


def healthz(request: HttpRequest) -> JsonResponse:
    """Return 200 ``{"status": "ok"}`` when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return JsonResponse({"status": "unavailable", "database": str(exc)[:200]}, status=503)
    return JsonResponse({"status": "ok"})


class TokenView(ObtainAuthToken):
    """``POST {username, password}`` → ``{token}``; use it as ``Authorization: Token <token>``."""

    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "login"
