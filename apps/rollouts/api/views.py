"""Rollout endpoints (list, detail, controls, metrics), plans, and outcome reports."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agents.api.authentication import AgentTokenAuthentication, require_scope
from apps.agents.models import AgentToken
from apps.sops.api.views import CanViewSOPs
from apps.sops.permissions import SCOPE_REPORT, allowed_rollout_controls

from .. import selectors, services
from ..models import OutcomeKind, OutcomeSource, Rollout, RolloutPlan, RolloutState


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
            "paused_at",
            "ended_at",
            "last_evaluation",
            "evaluated_at",
            "allowed_controls",
        ]

    def get_allowed_controls(self, obj: Rollout) -> list[str]:
        request = self.context.get("request")
        return allowed_rollout_controls(request.user, obj) if request is not None else []


class RolloutControlSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")


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
    """Staged rollouts: list (filters ``sop``, ``state``, ``active``), detail, metrics and controls.
    Every control needs a reason; 403 for non-release-managers, 409 for a rollout in the wrong state."""

    serializer_class = RolloutSerializer
    permission_classes = [CanViewSOPs]
    filterset_class = RolloutFilter

    def get_queryset(self) -> QuerySet[Rollout]:
        return selectors.rollout_list()

    def _control(self, request: Request, name: str) -> Response:
        rollout = self.get_object()
        body = RolloutControlSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rollout = services.ROLLOUT_CONTROLS[name](
            actor=request.user, rollout=rollout, reason=body.validated_data["reason"]
        )
        return Response(
            RolloutSerializer(selectors.rollout_list().get(pk=rollout.pk), context={"request": request}).data
        )

    @extend_schema(
        request=RolloutControlSerializer, responses={200: RolloutSerializer}, summary="Move to the next stage now"
    )
    @action(detail=True, methods=["post"])
    def advance(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "advance")

    @extend_schema(request=RolloutControlSerializer, responses={200: RolloutSerializer}, summary="Stop advancing")
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "pause")

    @extend_schema(request=RolloutControlSerializer, responses={200: RolloutSerializer}, summary="Advance again")
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "resume")

    @extend_schema(
        request=RolloutControlSerializer, responses={200: RolloutSerializer}, summary="Serve stable to everyone"
    )
    @action(detail=True, methods=["post"])
    def abort(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "abort")

    @extend_schema(request=RolloutControlSerializer, responses={200: RolloutSerializer}, summary="Promote to 100 % now")
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "complete")

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def metrics(self, request: Request, pk: str | None = None) -> Response:
        """Outcome rates of stable and candidate over time, and the current gate results."""
        rollout = self.get_object()
        data = selectors.metric_series(rollout)
        data["gates"] = (
            selectors.gate_results(rollout) if rollout.is_active else rollout.last_evaluation.get("gates", [])
        )
        return Response(data)


class PlanStageSerializer(serializers.Serializer):
    percentage = serializers.IntegerField()
    min_soak_seconds = serializers.IntegerField()
    gates = serializers.SerializerMethodField()

    def get_gates(self, obj: Any) -> list[dict[str, Any]]:
        return [g.as_rule() for g in obj.gates.all()]


class RolloutPlanSerializer(serializers.ModelSerializer):
    stages = PlanStageSerializer(many=True, read_only=True)
    categories: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="slug"
    )

    class Meta:
        model = RolloutPlan
        fields = ["id", "name", "description", "is_default", "stages", "categories"]


class RolloutPlanViewSet(viewsets.ReadOnlyModelViewSet):
    """Rollout plans (templates); release managers edit them in the admin."""

    serializer_class = RolloutPlanSerializer
    permission_classes = [CanViewSOPs]
    queryset = RolloutPlan.objects.prefetch_related("stages__gates", "categories")


class OutcomeSerializer(serializers.Serializer):
    routing_key = serializers.CharField(max_length=200)
    category = serializers.CharField(max_length=64)
    sop_key = serializers.CharField(max_length=100)
    outcome = serializers.ChoiceField(choices=OutcomeKind.choices)
    version = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class OutcomeView(APIView):
    """An agent reports how a conversation ended (the REST twin of the MCP tool ``report_sop_outcome``)."""

    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [require_scope(SCOPE_REPORT)]

    @extend_schema(request=OutcomeSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        body = OutcomeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assert isinstance(request.auth, AgentToken)
        outcome = services.outcome_report(reporter=request.auth.name, source=OutcomeSource.API, **body.validated_data)
        return Response(
            {
                "id": str(outcome.outcome_id),
                "sop": outcome.sop.slug,
                "version": outcome.version.number,
                "outcome": outcome.outcome,
            },
            status=status.HTTP_201_CREATED,
        )
