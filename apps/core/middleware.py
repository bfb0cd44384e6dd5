"""Request-scoped middleware: request ids and a clear answer when the database is down."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import SimpleTemplateResponse

from .request_context import new_request_id, reset_request_id, set_request_id

logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Give every request an id (``X-Request-ID`` in, or a new uuid4) recorded in audit events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request_id
        return response


class DatabaseUnavailableMiddleware:
    """Answer 503 with a clear message when the database cannot be reached.

    Every write runs in a transaction, so a request that fails here changed nothing; the page
    says so, and API clients get ``{"error": "database_unavailable", ...}``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("database unavailable: %s", exception)
        message = (
            "The database is unavailable, so nothing was saved. Your input is still in the form; try again in a moment."
        )
        if request.path.startswith("/api/"):
            return JsonResponse({"error": "database_unavailable", "detail": message}, status=503)
        response = SimpleTemplateResponse("sopgov/service_unavailable.html", {"message": message}, status=503)
        response["Retry-After"] = "5"
        return response.render()


class RequestTooLargeMiddleware:
    """Answer 413 with a clear page when a form's body is larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``,
    before anything reads it (Django would otherwise fail the CSRF check's read with a bare 400).

    Placed before ``CsrfViewMiddleware``; judged on ``Content-Length``. The API answers 413 in
    JSON itself (``apps.core.api``), so ``/api/`` is left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = request.META.get("CONTENT_LENGTH") or "0"
        if limit is not None and length.isdigit() and int(length) > limit and not request.path.startswith("/api/"):
            message = (
                f"What you sent is {int(length) / 1_000_000:.1f} MB; the largest form this server takes is "
                f"{limit / 1_000_000:.1f} MB, so nothing was saved. Go back: your browser still has your text."
            )
            return SimpleTemplateResponse("sopgov/request_too_large.html", {"message": message}, status=413).render()
        return self.get_response(request)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, but a session that cannot be saved because the database is
    down does not turn the page (e.g. ``DatabaseUnavailableMiddleware``'s 503) into a 500: every
    request renews the session (the idle timeout), and losing one renewal is harmless."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("session not saved, the database is unavailable: %s", exc)
            return response
