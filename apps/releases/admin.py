"""The rollouts list and the rollout page (the release manager's cockpit) in the admin."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin
from apps.rollouts.models import Rollout

from . import admin_views


@admin.register(Rollout)
class RolloutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "sop_link",
        "versions",
        "state_badge",
        "percentage_bar",
        "stage_display",
        "started_at",
        "started_by",
    ]
    list_filter = ["state", "sop__category"]
    search_fields = ["sop__key", "sop__category__slug", "plan_name"]
    list_select_related = ["sop__category", "stable_version", "candidate_version", "started_by"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "title": "Rollouts"})

    @admin.display(description="SOP")
    def sop_link(self, obj: Rollout) -> str:
        return format_html(
            '<a href="{}"><code>{}</code></a>', reverse("admin:rollouts_rollout_change", args=[obj.pk]), obj.sop.slug
        )

    @admin.display(description="Versions")
    def versions(self, obj: Rollout) -> str:
        return f"v{obj.stable_version.number} → v{obj.candidate_version.number}"

    @admin.display(description="State", ordering="state")
    def state_badge(self, obj: Rollout) -> str:
        return format_html('<span class="sopgov-badge sopgov-rollout-{}">{}</span>', obj.state, obj.get_state_display())

    @admin.display(description="Canary share", ordering="percentage")
    def percentage_bar(self, obj: Rollout) -> str:
        return format_html(
            '<span class="sopgov-bar"><span style="width:{}%"></span></span> {} %', obj.percentage, obj.percentage
        )

    @admin.display(description="Stage")
    def stage_display(self, obj: Rollout) -> str:
        return f"{obj.stage_index + 1} of {len(obj.stages)}"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return admin_views.rollout_detail(self, request, object_id)
