"""The audit log in the admin: read-only for everyone, searchable and filterable."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin

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
    ]
    fields = tuple(readonly_fields)

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
