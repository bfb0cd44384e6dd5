"""Rollout endpoints to read (list, detail, metrics) and plans. The controls and outcome reports
are the release layer's (``apps.releases.api``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.sops.api.views import CanViewSOPs

from .. import selectors
from ..models import Rollout, RolloutPlan, RolloutState
from ..permissions import allowed_rollout_controls


class RolloutSerializer(serializers.ModelSerializer):
    sop = serializers.CharField(source="sop.slug")
    stable_version = serializers.IntegerField(source="stable_version.number")
    candidate_version = serializers.IntegerField(source="candidate_version.number")
    started_by = serializers.CharField(source="started_by.username", allow_null=True, default=None)
    allowed_controls = serializers.SerializerMethodField()

    class Meta:
        model = Rollout
        fields = [
            "id",
            "sop",
            "stable_version",
            "candidate_version",
            "plan_name",
            "stages",
            "stage_index",
            "percentage",
            "state",
            "started_by",
            "started_at",
            "stage_started_at",
            "stage_log",
            "alpha",
            "advance_on",
            "paused_at",
            "ended_at",
            "last_evaluation",
            "evaluated_at",
            "allowed_controls",
        ]

    def get_allowed_controls(self, obj: Rollout) -> list[str]:
        request = self.context.get("request")
        return allowed_rollout_controls(request.user, obj) if request is not None else []


class RolloutFilter(filters.FilterSet):
    sop = filters.CharFilter(method="filter_sop", help_text="category/key")
    state = filters.ChoiceFilter(choices=RolloutState.choices)
    active = filters.BooleanFilter(method="filter_active")

    class Meta:
        model = Rollout
        fields = ["sop", "state", "active"]

    def filter_sop(self, qs: QuerySet[Rollout], name: str, value: str) -> QuerySet[Rollout]:
        category, _, key = value.partition("/")
        return qs.filter(sop__category__slug=category, sop__key=key)

    def filter_active(self, qs: QuerySet[Rollout], name: str, value: bool) -> QuerySet[Rollout]:
        method = qs.filter if value else qs.exclude
        return method(state__in=[RolloutState.RUNNING, RolloutState.PAUSED])


class RolloutViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staged rollouts: list (filters ``sop``, ``state``, ``active``), detail and metrics. The
    controls (``/rollouts/{id}/advance/`` …) are served by ``apps.releases.api``."""

    lookup_value_regex = r"[0-9]+"  # a non-numeric id is a 404, not a database error

    serializer_class = RolloutSerializer
    permission_classes = [CanViewSOPs]
    filterset_class = RolloutFilter

    def get_queryset(self) -> QuerySet[Rollout]:
        return selectors.rollout_list()

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def metrics(self, request: Request, pk: str | None = None) -> Response:
        """Outcome rates of stable and candidate over time, the current gate results (estimates
        with always-valid intervals) and the served split of the current stage."""
        rollout = self.get_object()
        data = selectors.metric_series(rollout)
        summary = selectors.rollout_summary(rollout)
        split = summary["sample_ratio"]
        data["gates"] = summary["gates"]
        data["served"] = summary["served"]
        data["outcomes"] = summary["outcomes"]
        data["split"] = split.as_dict() if split else None
        return Response(data)


class PlanStageSerializer(serializers.Serializer):
    percentage = serializers.IntegerField()
    min_soak_seconds = serializers.IntegerField()
    min_outcomes = serializers.IntegerField()
    gates = serializers.SerializerMethodField()

    def get_gates(self, obj: Any) -> list[dict[str, Any]]:
        return [g.as_rule() for g in obj.gates.all()]


class RolloutPlanSerializer(serializers.ModelSerializer):
    stages = PlanStageSerializer(many=True, read_only=True)
    categories = serializers.SerializerMethodField()

    class Meta:
        model = RolloutPlan
        fields = ["id", "name", "description", "is_default", "alpha", "advance_on", "stages", "categories"]

    def get_categories(self, obj: RolloutPlan) -> list[str]:
        return sorted(c.category.slug for c in obj.category_choices.all())


class RolloutPlanViewSet(viewsets.ReadOnlyModelViewSet):
    """Rollout plans (templates); release managers edit them in the admin."""

    lookup_value_regex = r"[0-9]+"  # a non-numeric id is a 404, not a database error

    serializer_class = RolloutPlanSerializer
    permission_classes = [CanViewSOPs]
    queryset = RolloutPlan.objects.prefetch_related("stages__gates", "category_choices__category")
