"""Project-wide small views: health check, the API token endpoint, the error handlers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

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
    """``POST {username, password}`` → ``{token}``; use it as ``Authorization: Token <token>``.
    Failed attempts count toward django-axes' lockout like the admin login's (429 when locked)."""

    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "login"

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # axes marks the request it was given — DRF's, which its middleware never sees
            if getattr(request, "axes_locked_out", False):
                return login_locked(request._request)
            raise


def login_locked(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' lockout response (``AXES_LOCKOUT_CALLABLE``): 429 with ``Retry-After``, as JSON
    ``{"error": "login_locked", "detail", "retry_after"}`` for the API, else the sign-in page's
    "locked" message."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = max(1, seconds // 60)
    detail = f"Too many failed sign-ins for this account or from this address; sign-in is locked for {minutes} minutes."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"error": "login_locked", "detail": detail, "retry_after": seconds}, status=429
        )
    else:
        response = render(request, "sopgov/login_locked.html", {"detail": detail}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: under ``/api/`` the API's error body (``{"error": "not_found", "detail"}``)
    for URLs no route matches (e.g. ``/api/v1/sops/abc/``), elsewhere Django's 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": "not_found", "detail": "No API resource at this URL; ids are whole numbers."}, status=404
        )
    return defaults.page_not_found(request, exception)  # type: ignore[arg-type]


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: under ``/api/`` the API's error body, elsewhere Django's 500 page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": "server_error",
                "detail": "Something went wrong on our side. Try again; if it keeps happening, tell an administrator.",
            },
            status=500,
        )
    return defaults.server_error(request)
