"""API plumbing shared by every app: the error mapping and the request-id header."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import permissions as drf_permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map ``ApplicationError`` to its HTTP status; give DRF's own errors the same body shape.

    Body: ``{"error": code, "detail": message, ...extra}``. Validation errors keep DRF's field
    messages under ``fields``.
    """
    if isinstance(exc, ApplicationError):
        return Response({"error": exc.code, "detail": exc.message, **exc.extra}, status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {
                "error": "request_too_large",
                "detail": f"The request body is over the {limit:,}-byte limit; nothing was saved.",
            },
            status=413,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = {"error": "invalid_input", "detail": "The request body is invalid.", "fields": response.data}
    elif isinstance(exc, (drf_exceptions.APIException, Http404, DjangoPermissionDenied)):
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(exc, "default_code", "error")
        if isinstance(exc, Http404):
            code = "not_found"
        elif isinstance(exc, DjangoPermissionDenied):
            code = "permission_denied"
        response.data = {"error": code, "detail": str(detail)}
    return response


def require_permission(perm: str, message: str) -> type[drf_permissions.BasePermission]:
    """Return a DRF permission class allowing signed-in people whose role holds ``perm``
    (``app_label.codename``); others get 403 with ``message``."""

    class HasPermission(drf_permissions.BasePermission):
        message = ""

        def has_permission(self, request: Request, view: object) -> bool:
            return bool(request.user and request.user.is_authenticated and request.user.has_perm(perm))

    HasPermission.message = message
    HasPermission.__name__ = f"Has_{perm.replace('.', '_')}"
    return HasPermission
