"""Bundles and the publication ledger in the admin (read-only)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin

from .models import Bundle, Publication


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
class BundleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["sha256", "sop_count", "size_bytes", "created_at"]
    search_fields = ["sha256"]
    exclude = ["payload"]
    readonly_fields = ["sha256", "sop_count", "size_bytes", "created_at"]
