"""Rollouts in the admin: the list of rollouts, the rollout page, and plan templates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin
from apps.core.errors import InvalidInput
from apps.sops.models import Category

from . import admin_views, services
from .models import GateRule, PlanStage, Rollout, RolloutPlan
from .services import plan_snapshot
from .validation import check_stages


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

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/do/<str:control>/",
                wrap(lambda r, object_id, control: admin_views.rollout_control(self, r, object_id, control)),
                name="rollouts_rollout_control",
            ),
        ] + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        return admin_views.rollout_detail(self, request, object_id)


class GateInline(admin.TabularInline):
    model = GateRule
    extra = 0
    fields = ["metric", "comparison", "operator", "threshold", "window_seconds", "min_samples"]


@admin.register(PlanStage)
class PlanStageAdmin(admin.ModelAdmin):
    """A stage's gates; stages themselves are edited on their plan."""

    inlines = [GateInline]
    fields = ["plan", "position", "percentage", "min_soak_seconds"]
    readonly_fields = ["plan", "position", "percentage"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False  # reached from the plan page

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        before = plan_snapshot(form.instance.plan)
        super().save_related(request, form, formsets, change)
        services.rollout_plan_record_change(actor=request.user, plan=form.instance.plan, before=before)


class StageFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        rows = sorted(
            (f.cleaned_data["position"], f.cleaned_data["percentage"])
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        )
        try:
            check_stages([p for _, p in rows])
        except InvalidInput as exc:
            raise ValidationError(exc.message) from exc


class StageInline(admin.TabularInline):
    model = PlanStage
    formset = StageFormSet
    extra = 0
    fields = ["position", "percentage", "min_soak_seconds", "gates_link"]
    readonly_fields = ["gates_link"]

    @admin.display(description="Gates")
    def gates_link(self, obj: PlanStage) -> str:
        if not obj.pk:
            return "—"
        return format_html(
            '<a href="{}">{} gate(s)</a>', reverse("admin:rollouts_planstage_change", args=[obj.pk]), obj.gates.count()
        )


class PlanForm(forms.ModelForm):
    categories = forms.ModelMultipleChoiceField(
        queryset=Category.objects.order_by("slug"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Categories whose new versions go through this plan (others use the default plan).",
    )

    class Meta:
        model = RolloutPlan
        fields = ["name", "description", "is_default"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["categories"].initial = list(self.instance.categories.all())


@admin.register(RolloutPlan)
class RolloutPlanAdmin(admin.ModelAdmin):
    form = PlanForm
    list_display = ["name", "is_default", "stages_display", "category_list"]
    inlines = [StageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RolloutPlan]:
        return super().get_queryset(request).prefetch_related("stages", "categories")

    @admin.display(description="Stages")
    def stages_display(self, obj: RolloutPlan) -> str:
        return " → ".join(f"{s.percentage} %" for s in obj.stages.all())

    @admin.display(description="Categories")
    def category_list(self, obj: RolloutPlan) -> str:
        return ", ".join(c.slug for c in obj.categories.all()) or ("(default)" if obj.is_default else "—")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RolloutPlan, form: Any, change: bool) -> None:
        request._plan_before = plan_snapshot(RolloutPlan.objects.get(pk=obj.pk)) if change else []  # type: ignore[attr-defined]
        services.rollout_plan_save(plan=obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.rollout_plan_record_change(
            actor=request.user,
            plan=form.instance,
            before=getattr(request, "_plan_before", []),
            categories=list(form.cleaned_data.get("categories") or []),
        )
