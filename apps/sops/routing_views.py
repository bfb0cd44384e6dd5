"""Routing pages inside the admin: a version's routing check (run, poll), the routing tests of an
SOP (add, remove, add a real question from the tool-call log), and the routing playground."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.core.errors import ApplicationError

from . import permissions, routing, services
from .models import SOP, RoutingCheck, RoutingTestSource, SOPVersion, VersionStatus

MAX_QUESTION_CHARS = 1000


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next") or request.GET.get("next") or default
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = default
    return redirect(target)


def check_run(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """POST: queue a routing check of the version (back to its page). GET with
    ``Accept: application/json``: the latest check's status, for the page to poll."""
    version = get_object_or_404(SOPVersion.objects.select_related("sop"), pk=object_id)
    if not permissions.can_view(request.user):
        raise DjangoPermissionDenied
    if request.method == "GET":
        check = RoutingCheck.objects.filter(version=version).order_by("-created_at", "-id").first()
        return JsonResponse({"status": check.status if check else None, "id": check.pk if check else None})
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    try:
        services.routing_check_request(actor=request.user, version=version)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Routing check of {version} queued; this page shows it when it is done.")
    return redirect(reverse("admin:sops_sopversion_change", args=[version.pk]) + "#routing-check")


def test_add(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """POST ``sop`` (``category/key``), ``question`` and optionally ``tool_call_id``: add a routing
    test question; back to ``next`` with the outcome."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    category, _, key = request.POST.get("sop", "").partition("/")
    sop = SOP.objects.filter(category__slug=category, key=key).select_related("category").first()
    default = reverse("admin:sops_sop_change", args=[sop.pk]) if sop else reverse("admin:index")
    if sop is None:
        messages.error(request, "Choose the SOP the question must reach.")
        return _back(request, default)
    call_id = request.POST.get("tool_call_id") or None
    try:
        call_uuid = uuid.UUID(call_id) if call_id else None
    except ValueError:
        call_uuid = None
    try:
        services.routing_test_add(
            actor=request.user,
            sop=sop,
            question=request.POST.get("question", ""),
            source=RoutingTestSource.TOOL_CALL if call_uuid else RoutingTestSource.AUTHOR,
            tool_call_id=call_uuid,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Added to the routing tests of {sop.slug}: every routing check now asks it.")
    return _back(request, default)


def test_remove(model_admin: admin.ModelAdmin, request: HttpRequest, test_id: int) -> HttpResponse:
    """POST: remove a routing test question; back to its SOP's page."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.routing_test_remove(actor=request.user, test_id=test_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Removed the test question.")
    return _back(request, reverse("admin:sops_sop_changelist"))


def playground(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Type a question; see the SOPs it reaches, with their scores, over what is live and over what
    would be live with a candidate version (``?candidate=<version id>``)."""
    if not permissions.can_view(request.user):
        raise DjangoPermissionDenied
    question = (request.GET.get("q") or "").strip()[:MAX_QUESTION_CHARS]
    candidates = list(
        SOPVersion.objects.exclude(status__in=[VersionStatus.LIVE, VersionStatus.SUPERSEDED, VersionStatus.RETIRED])
        .select_related("sop__category")
        .order_by("sop__category__slug", "sop__key", "-number")[:500]
    )
    chosen_id = request.GET.get("candidate") or ""
    candidate = next((v for v in candidates if str(v.pk) == chosen_id), None)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Routing playground",
        "question": question,
        "candidates": candidates,
        "candidate": candidate,
    }
    if question:
        context["live"] = routing.try_question(routing.library(), question)
        if candidate is not None:
            context["with_candidate"] = routing.try_question(routing.library(candidate), question)
            context["candidate_heading"] = f"With {candidate.sop.slug} v{candidate.number}"
    return TemplateResponse(request, "sopgov/routing_playground.html", context)
