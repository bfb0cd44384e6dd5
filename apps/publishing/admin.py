"""Publishing in the admin: the ledger, targets (with deploy / republish / move-endpoint for
release managers), deployments with their progress, and the bridges with their drift."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin, guarded_view

from . import admin_views
from .models import BridgeHeartbeat, Bundle, BundleHead, Deployment, Publication, PublicationTarget, TargetKind
from .selectors import BRIDGE_OFFLINE_AFTER
from .services import target_save


def _badge(css: str, label: str) -> str:
    return format_html('<span class="sopgov-badge sopgov-{}">{}</span>', css, label)


def _bar(progress: int) -> str:
    return format_html('<span class="sopgov-bar"><span style="width:{}%"></span></span> {} %', progress, progress)


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "target",
        "cause",
        "version",
        "bundle_short",
        "status_badge",
        "runtime_version",
        "ssm_parameter_version",
        "actor",
        "reason",
        "error_short",
    ]
    list_filter = ["target", "status", "cause"]
    date_hierarchy = "created_at"
    search_fields = ["bundle__sha256", "reason", "actor__username", "error"]
    list_select_related = ["bundle", "version__sop__category", "actor", "target"]
    exclude = ["bundle", "previous_bundle"]
    readonly_fields = [
        "created_at",
        "target",
        "cause",
        "version",
        "bundle_short",
        "status",
        "actor",
        "reason",
        "started_at",
        "finished_at",
        "attempts",
        "error",
        "runtime_id",
        "runtime_arn",
        "runtime_version",
        "s3_key",
        "s3_version_id",
        "ssm_parameter_version",
    ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "title": "Publication ledger"})

    @admin.display(description="Bundle")
    def bundle_short(self, obj: Publication) -> str:
        return obj.bundle.sha256[:16]

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Publication) -> str:
        return _badge(f"pub-{obj.status}", obj.get_status_display())

    @admin.display(description="Error")
    def error_short(self, obj: Publication) -> str:
        return obj.error[:120]


@admin.register(Bundle)
class BundleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["sha256", "sop_count", "size_bytes", "created_at"]
    search_fields = ["sha256"]
    exclude = ["payload"]
    readonly_fields = ["sha256", "sop_count", "size_bytes", "created_at"]


@admin.register(PublicationTarget)
class PublicationTargetAdmin(admin.ModelAdmin):
    """Admins configure targets; release managers see them and press deploy, republish or move."""

    change_form_template = "admin/publishing/publicationtarget/change_form.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "kind", "enabled", "region", "runtime_name", "runtime_version", "runtime_arn"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["runtime_id", "runtime_arn", "runtime_version"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled", "description"]}),
        (
            "AgentCore runtime",
            {
                "fields": [
                    "region",
                    "runtime_name",
                    "container_image_uri",
                    "execution_role_arn",
                    "network_mode",
                    "vpc_subnets",
                    "vpc_security_groups",
                    "runtime_id",
                    "runtime_arn",
                    "runtime_version",
                ]
            },
        ),
        ("Authorizer", {"fields": ["authorizer", "jwt_discovery_url", "jwt_allowed_clients", "jwt_allowed_audience"]}),
        (
            "Bundles and discovery",
            {
                "fields": [
                    "s3_bucket",
                    "s3_prefix",
                    "ssm_bundle_parameter",
                    "ssm_arn_parameter",
                    "bridge_poll_seconds",
                ]
            },
        ),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.kind == TargetKind.LOCAL:
            return self.fieldsets[:1]  # the local bridges have no AWS settings
        return self.fieldsets

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # publications refer to it; disable it instead

    def save_model(self, request: HttpRequest, obj: PublicationTarget, form: Any, change: bool) -> None:
        target_save(actor=request.user, target=obj)

    def get_urls(self) -> list:
        def wrap(view: Any) -> Any:
            return guarded_view(self, view)

        return [
            path(
                "<int:object_id>/do/<str:operation>/",
                wrap(lambda r, object_id, operation: admin_views.target_operation(r, object_id, operation)),
                name="publishing_publicationtarget_operation",
            ),
        ] + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        target = self.get_object(request, object_id)
        context = admin_views.target_context(request, target) if target is not None else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **context})


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "target",
        "action",
        "status_badge",
        "progress_bar",
        "step",
        "runtime_version",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["target", "status", "action"]
    list_select_related = ["target", "requested_by"]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        deployment = self.get_object(request, object_id)
        if deployment is None or not self.has_view_permission(request, deployment):
            return super().change_view(request, object_id, form_url, extra_context)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Deployment {deployment.pk}: {deployment.get_action_display().lower()} on {deployment.target.name}",
            "deployment": deployment,
            "poll_url": reverse("api:deployment-detail", args=[deployment.pk]),
        }
        return TemplateResponse(request, "sopgov/deployment_detail.html", context)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Deployment) -> str:
        return _badge(f"pub-{obj.status}", obj.get_status_display())

    @admin.display(description="Progress", ordering="progress")
    def progress_bar(self, obj: Deployment) -> str:
        return _bar(obj.progress)


@admin.register(BridgeHeartbeat)
class BridgeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every bridge that reported: what it serves, and drift from the current bundle or from the
    tool descriptions of this release (``selectors.bridge_statuses`` gives the same flags)."""

    list_display = ["bridge_id", "bundle", "tools", "online", "bridge_version", "last_seen_at", "started_at"]
    search_fields = ["bridge_id", "bundle_sha256"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "title": "Bridges"})

    def get_queryset(self, request: HttpRequest) -> QuerySet[BridgeHeartbeat]:
        head = BundleHead.objects.filter(pk=1).values("bundle__sha256")
        return super().get_queryset(request).annotate(current_sha=Subquery(head[:1]))

    @admin.display(description="Bundle served", ordering="bundle_sha256")
    def bundle(self, obj: Any) -> str:
        if obj.bundle_sha256 == (obj.current_sha or ""):
            return format_html("<code>{}</code> {}", obj.bundle_sha256[:12], _badge("live", "current"))
        return format_html("<code>{}</code> {}", obj.bundle_sha256[:12] or "none", _badge("drift", "drift"))

    @admin.display(description="Tool descriptions")
    def tools(self, obj: BridgeHeartbeat) -> str:
        from mcp_bridge.manifest import expected_tools_sha256

        if obj.tools_sha256 == expected_tools_sha256():
            return format_html("<code>{}</code> {}", obj.tools_sha256[:12], _badge("live", "approved"))
        return format_html("<code>{}</code> {}", obj.tools_sha256[:12] or "none", _badge("drift", "differ"))

    @admin.display(description="Online", boolean=True)
    def online(self, obj: BridgeHeartbeat) -> bool:
        from django.utils import timezone

        return timezone.now() - obj.last_seen_at <= BRIDGE_OFFLINE_AFTER
