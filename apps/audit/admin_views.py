"""The auditor's workspace: the trail with filters and exports, the chain verification with
its progress, and "what did agents see?" for a moment or a conversation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from .forms import AuditFilterForm
from .models import AuditChainHead, AuditVerification
from .selectors import AuditFilters, audit_page, export_csv, export_json
from .verification import verification_start


def _context(model_admin: admin.ModelAdmin, request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, **extra}


def _filters(request: HttpRequest) -> tuple[AuditFilterForm, AuditFilters]:
    form = AuditFilterForm(request.GET or None)
    return form, (form.filters() if form.is_bound and form.is_valid() else AuditFilters())


def _query(request: HttpRequest, **changes: Any) -> str:
    """The current filters as a query string, with ``changes`` applied (``None`` drops a key)."""
    params = {k: v for k, v in request.GET.items() if v}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return urlencode(params)


def trail(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """The audit trail, newest first, 50 a page (keyset on id), filtered by the GET form. An
    invalid filter lists nothing (the form says what is wrong): never every event as if it held."""
    form, filters = _filters(request)
    before = request.GET.get("before", "")
    events: list[Any] = []
    next_before = None
    if not (form.is_bound and not form.is_valid()):
        events, next_before = audit_page(filters, int(before) if before.isdigit() else None)
    head = AuditChainHead.objects.filter(pk=1).first()
    context = _context(
        model_admin,
        request,
        title="Audit trail",
        form=form,
        events=events,
        newer_url=f"?{_query(request, before=None)}" if before else "",
        older_url=f"?{_query(request, before=next_before)}" if next_before else "",
        export_csv_url=f"{reverse('admin:audit_auditevent_export', args=['csv'])}?{_query(request, before=None)}",
        export_json_url=f"{reverse('admin:audit_auditevent_export', args=['json'])}?{_query(request, before=None)}",
        head=head,
        last_verification=AuditVerification.objects.order_by("-id").first(),
        filtered=bool(form.is_bound and form.is_valid() and filters != AuditFilters()),
    )
    return TemplateResponse(request, "sopgov/audit_trail.html", context)


def export(model_admin: admin.ModelAdmin, request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """Stream the filtered trail as CSV or JSON (a server-side cursor; constant memory)."""
    form, filters = _filters(request)
    if form.is_bound and not form.is_valid():
        return JsonResponse({"error": "invalid_input", "fields": form.errors}, status=400)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if fmt == "csv":
        response: StreamingHttpResponse = StreamingHttpResponse(
            export_csv(filters), content_type="text/csv; charset=utf-8"
        )
    elif fmt == "json":
        response = StreamingHttpResponse(export_json(filters), content_type="application/json")
    else:
        raise Http404("Export as csv or json.")
    response["Content-Disposition"] = f'attachment; filename="sopgov-audit-{stamp}.{fmt}"'
    return response


def verify(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Start walking the hash chain (a worker does it) and show its progress."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    verification = verification_start(actor=request.user)
    return redirect(reverse("admin:audit_auditevent_verification", args=[verification.pk]))


def verification_page(model_admin: admin.ModelAdmin, request: HttpRequest, verification_id: int) -> HttpResponse:
    """One verification: progress while it runs, then intact or the first broken link."""
    verification = get_object_or_404(AuditVerification.objects.select_related("requested_by"), pk=verification_id)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse(verification_json(verification))
    return TemplateResponse(
        request,
        "sopgov/audit_verification.html",
        _context(
            model_admin,
            request,
            title=f"Audit chain verification {verification.pk}",
            verification=verification,
        ),
    )


def verification_json(verification: AuditVerification) -> dict[str, Any]:
    """The verification's state for the progress bar's polling."""
    return {
        "id": verification.pk,
        "status": verification.status,
        "progress": verification.progress,
        "checked": verification.checked,
        "total": verification.total,
        "first_break": verification.first_break,
        "head_seq": verification.head_seq,
        "head_hash": verification.head_hash,
        "unsealed": verification.unsealed,
    }
