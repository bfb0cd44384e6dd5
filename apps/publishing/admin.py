"""Bundles and the publication ledger in the admin (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Bundle, Publication


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "cause", "version", "bundle_short", "target", "status", "actor", "reason"]
    list_filter = ["cause", "status", "target"]
    search_fields = ["bundle__sha256", "reason", "actor__username"]
    list_select_related = ["bundle", "version__sop__category", "actor"]
    exclude = ["bundle", "previous_bundle"]
    readonly_fields = ["created_at", "cause", "version", "bundle_short", "target", "status", "actor", "reason"]

    @admin.display(description="Bundle")
    def bundle_short(self, obj: Publication) -> str:
        return obj.bundle.sha256[:16]


@admin.register(Bundle)
class BundleAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "sop_count", "size_bytes", "created_at"]
    search_fields = ["sha256"]
    exclude = ["payload"]
    readonly_fields = ["sha256", "sop_count", "size_bytes", "created_at"]
