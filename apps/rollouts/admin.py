"""Rollout plans in the admin: stages, their gates, the categories that use a plan, the α.

Every save is audited with the plan before and after (``services.rollout_plan_record_change``).
The rollouts themselves are shown by the release layer (``apps.releases.admin``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.core.errors import InvalidInput
from apps.sops.models import Category

from . import services
from .models import GateRule, PlanStage, RolloutPlan
from .selectors import categories_of_plan
from .services import plan_state
from .validation import check_stages


class GateInline(admin.TabularInline):
    model = GateRule
    extra = 0
    fields = ["metric", "comparison", "threshold"]


@admin.register(PlanStage)
class PlanStageAdmin(admin.ModelAdmin):
    """A stage's gates; stages themselves are edited on their plan."""

    inlines = [GateInline]
    fields = ["plan", "position", "percentage", "min_soak_seconds", "min_outcomes"]
    readonly_fields = ["plan", "position", "percentage"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False  # reached from the plan page

    def save_model(self, request: HttpRequest, obj: PlanStage, form: Any, change: bool) -> None:
        request._plan_before = plan_state(obj.plan)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.rollout_plan_record_change(
            actor=request.user, plan=form.instance.plan, before=getattr(request, "_plan_before", {})
        )


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
    fields = ["position", "percentage", "min_soak_seconds", "min_outcomes", "gates_link"]
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
        fields = ["name", "description", "is_default", "alpha", "advance_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["categories"].initial = categories_of_plan(self.instance)


@admin.register(RolloutPlan)
class RolloutPlanAdmin(admin.ModelAdmin):
    form = PlanForm
    list_display = ["name", "is_default", "alpha", "stages_display", "category_list"]
    inlines = [StageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RolloutPlan]:
        return super().get_queryset(request).prefetch_related("stages", "category_choices__category")

    @admin.display(description="Stages")
    def stages_display(self, obj: RolloutPlan) -> str:
        return " → ".join(f"{s.percentage} %" for s in obj.stages.all())

    @admin.display(description="Categories")
    def category_list(self, obj: RolloutPlan) -> str:
        return ", ".join(sorted(c.category.slug for c in obj.category_choices.all())) or (
            "(default)" if obj.is_default else "—"
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RolloutPlan, form: Any, change: bool) -> None:
        request._plan_before = plan_state(obj) if change else {}  # type: ignore[attr-defined]
        services.rollout_plan_save(plan=obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.rollout_plan_record_change(
            actor=request.user,
            plan=form.instance,
            before=getattr(request, "_plan_before", {}),
            categories=list(form.cleaned_data.get("categories") or []),
        )
