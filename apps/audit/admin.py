"""The audit log in the admin: read-only for everyone, searchable and filterable."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin, guarded_view

from . import admin_views
from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "target_label", "sop_slug", "short_reason"]
    list_filter = ["action", "target_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["actor_label", "sop_slug", "target_label", "reason", "request_id"]
    date_hierarchy = "created_at"
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = [
        "seq",
        "created_at",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "sop_slug",
        "reason",
        "before_pretty",
        "after_pretty",
        "data_pretty",
        "request_id",
        "prev_hash",
        "hash",
    ]
    fields = tuple(readonly_fields)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """The auditor's trail page (filters as a shareable URL, keyset pages, exports)."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        return admin_views.trail(self, request)

    def get_urls(self) -> list:
        def guarded(view: Any) -> Any:
            return guarded_view(self, lambda request, *args, **kwargs: view(self, request, *args, **kwargs))

        return [
            path("export.<str:fmt>", guarded(admin_views.export), name="audit_auditevent_export"),
            path("verify/", guarded(admin_views.verify), name="audit_auditevent_verify"),
            path(
                "verify/<int:verification_id>/",
                guarded(admin_views.verification_page),
                name="audit_auditevent_verification",
            ),
        ] + super().get_urls()

    @admin.display(description="Reason")
    def short_reason(self, obj: AuditEvent) -> str:
        return obj.reason[:80] + ("…" if len(obj.reason) > 80 else "")

    def _pretty(self, value: Any) -> str:
        if value in (None, {}, []):
            return "—"
        return format_html("<pre class='sopgov-json'>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))

    @admin.display(description="Before")
    def before_pretty(self, obj: AuditEvent) -> str:
        return self._pretty(obj.before)

    @admin.display(description="After")
    def after_pretty(self, obj: AuditEvent) -> str:
        return self._pretty(obj.after)

    @admin.display(description="Data")
    def data_pretty(self, obj: AuditEvent) -> str:
        return self._pretty(obj.data)
