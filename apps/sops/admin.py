"""Admin registration: lists with search and filters; the governance pages in ``admin_views``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.admin import guarded_view
from apps.core.errors import ApplicationError

from . import admin_views, routing_views, selectors, services
from .models import SOP, Category, SOPVersion, VersionStatus


class NoDeleteMixin:
    """Nothing governed is ever deleted: versions are kept, SOPs are retired."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionStateFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("live", "Live"),
            ("not_live", "Nothing live"),
            ("in_review", "Has a version in review"),
            ("approved", "Has an approved version"),
            ("draft", "Has a draft"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SOP]) -> QuerySet[SOP]:
        value = self.value()
        if value == "live":
            return queryset.filter(live_number__isnull=False)  # type: ignore[misc]  # annotated in sop_list()
        if value == "not_live":
            return queryset.filter(live_number__isnull=True)  # type: ignore[misc]
        if value in (VersionStatus.IN_REVIEW, VersionStatus.APPROVED, VersionStatus.DRAFT):
            return queryset.filter(versions__status=value).distinct()
        return queryset


@admin.register(Category)
class CategoryAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["slug", "name", "min_approvals", "routing_policy", "review_period_months", "sop_count"]
    search_fields = ["slug", "name"]
    fields = ["slug", "name", "description", "min_approvals", "routing_policy", "review_period_months"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return selectors.category_list()

    @admin.display(description="SOPs", ordering="sop_count")
    def sop_count(self, obj: Category) -> int:
        return obj.sop_count  # type: ignore[attr-defined]

    def get_readonly_fields(self, request: HttpRequest, obj: Category | None = None) -> list[str]:
        return ["slug"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        """Write through the category services so the change is audited."""
        data = form.cleaned_data
        try:
            if change:
                services.category_update(
                    actor=request.user,
                    category=obj,
                    name=data["name"],
                    description=data["description"],
                    min_approvals=data["min_approvals"],
                    review_period_months=data["review_period_months"],
                    routing_policy=data["routing_policy"],
                )
            else:
                created = services.category_create(
                    actor=request.user,
                    slug=data["slug"],
                    name=data["name"],
                    description=data["description"],
                    min_approvals=data["min_approvals"],
                    review_period_months=data["review_period_months"],
                )
                if data["routing_policy"] != created.routing_policy:
                    services.category_update(
                        actor=request.user,
                        category=created,
                        name=created.name,
                        description=created.description,
                        min_approvals=created.min_approvals,
                        routing_policy=data["routing_policy"],
                    )
                obj.pk = created.pk
        except ApplicationError as exc:
            # The form already validated the same rules, so this is a race; report it plainly.
            self.message_user(request, exc.message, level="error")


@admin.register(SOP)
class SOPAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["slug_link", "title", "category", "owner", "live", "open_versions_display", "updated_at"]
    list_filter = ["category", VersionStateFilter, ("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["key", "title", "category__slug"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[SOP]:
        return selectors.sop_list()

    @admin.display(description="SOP", ordering="key")
    def slug_link(self, obj: SOP) -> str:
        return format_html(
            '<a href="{}"><code>{}</code></a>', reverse("admin:sops_sop_change", args=[obj.pk]), obj.slug
        )

    @admin.display(description="Live", ordering="live_number")
    def live(self, obj: SOP) -> str:
        number = obj.live_number  # type: ignore[attr-defined]
        return format_html('<span class="sopgov-badge sopgov-live">v{}</span>', number) if number else "—"

    @admin.display(description="Open versions", ordering="open_versions")
    def open_versions_display(self, obj: SOP) -> int:
        return obj.open_versions  # type: ignore[attr-defined]

    def get_urls(self) -> list:
        def wrap(view: Any) -> Any:
            return guarded_view(self, view)

        return [
            path("reviews/", wrap(lambda r: admin_views.reviews_due_page(self, r)), name="sops_sop_reviews"),
            path("routing/", wrap(lambda r: routing_views.playground(self, r)), name="sops_sop_routing"),
            path("routing-tests/add/", wrap(lambda r: routing_views.test_add(self, r)), name="sops_routingtest_add"),
            path(
                "routing-tests/<int:test_id>/remove/",
                wrap(lambda r, test_id: routing_views.test_remove(self, r, test_id)),
                name="sops_routingtest_remove",
            ),
            path(
                "<int:sop_id>/draft/",
                wrap(lambda r, sop_id: admin_views.version_new(self, r, sop_id)),
                name="sops_sop_draft",
            ),
            path(
                "<int:object_id>/review/",
                wrap(lambda r, object_id: admin_views.sop_review(self, r, object_id)),
                name="sops_sop_review",
            ),
            path(
                "<int:object_id>/timeline/",
                wrap(lambda r, object_id: admin_views.sop_timeline(self, r, object_id)),
                name="sops_sop_timeline",
            ),
        ] + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "title": "SOPs"})

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        return admin_views.sop_add(self, request)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        return admin_views.sop_detail(self, request, object_id)


@admin.register(SOPVersion)
class SOPVersionAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["version_link", "status_badge", "author", "origin", "approvals", "created_at", "submitted_at"]
    list_filter = ["status", "sop__category", "origin", ("author", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["sop__key", "sop__title", "change_note", "content_sha256"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[SOPVersion]:
        return selectors.version_list().order_by("-id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # new versions start from their SOP's page

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "title": "SOP versions"})

    @admin.display(description="Version", ordering="id")
    def version_link(self, obj: SOPVersion) -> str:
        return format_html(
            '<a href="{}"><code>{}</code> v{}</a>',
            reverse("admin:sops_sopversion_change", args=[obj.pk]),
            obj.sop.slug,
            obj.number,
        )

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: SOPVersion) -> str:
        return format_html('<span class="sopgov-badge sopgov-{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description="Approvals")
    def approvals(self, obj: SOPVersion) -> str:
        return f"{obj.approval_count}/{obj.sop.category.min_approvals}"  # type: ignore[attr-defined]

    def get_urls(self) -> list:
        def wrap(view: Any) -> Any:
            return guarded_view(self, view)

        return [
            path("preview/", wrap(lambda r: admin_views.markdown_preview(self, r)), name="sops_sopversion_preview"),
            path("to-review/", wrap(lambda r: admin_views.to_review_page(self, r)), name="sops_sopversion_to_review"),
            path("mine/", wrap(lambda r: admin_views.my_versions_page(self, r)), name="sops_sopversion_mine"),
            path(
                "<int:object_id>/edit/",
                wrap(lambda r, object_id: admin_views.version_edit(self, r, object_id)),
                name="sops_sopversion_edit",
            ),
            path(
                "<int:object_id>/diff/",
                wrap(lambda r, object_id: admin_views.version_diff(self, r, object_id)),
                name="sops_sopversion_diff",
            ),
            path(
                "<int:object_id>/routing-check/",
                wrap(lambda r, object_id: routing_views.check_run(self, r, object_id)),
                name="sops_sopversion_routing_check",
            ),
            path(
                "<int:object_id>/do/<str:action>/",
                wrap(lambda r, object_id, action: admin_views.version_action(self, r, object_id, action)),
                name="sops_sopversion_action",
            ),
        ] + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        return admin_views.version_detail(self, request, object_id)
