"""The current bundle and heartbeats for bridges; the ledger, targets, deployments and bridges for people."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, JsonResponse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agents.api.authentication import AgentTokenAuthentication, require_scope
from apps.agents.permissions import SCOPE_BRIDGE
from apps.core.api import require_permission
from apps.core.filters import IsoDateTimeFilter

from ..deployments import deployment_start
from ..models import (
    Deployment,
    DeploymentAction,
    DeploymentStatus,
    Publication,
    PublicationCause,
    PublicationStatus,
    PublicationTarget,
)
from ..selectors import (
    bridge_statuses,
    current_bundle,
    current_bundle_sha256,
    deployment_list,
    publication_list,
    target_list,
    target_summary,
)
from ..services import bridge_heartbeat_record, target_republish


class CurrentBundleView(APIView):
    """The current bundle's canonical bytes; ``ETag`` is its sha256, so polls answer 304 cheaply."""

    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [require_scope(SCOPE_BRIDGE)]

    @extend_schema(responses={200: dict, 304: None, 404: dict})
    def get(self, request: Request) -> HttpResponse:
        sha = current_bundle_sha256()
        if sha is None:
            return JsonResponse({"error": "no_bundle", "detail": "Nothing has been published yet."}, status=404)
        if request.headers.get("If-None-Match", "").strip().strip('"') == sha:
            return HttpResponse(status=304, headers={"ETag": f'"{sha}"'})
        bundle = current_bundle()
        assert bundle is not None
        return HttpResponse(
            bundle.payload.encode("utf-8"),
            content_type="application/json",
            headers={"ETag": f'"{bundle.sha256}"', "X-Bundle-SHA256": bundle.sha256},
        )


class PublicationSerializer(serializers.ModelSerializer):
    target = serializers.CharField(source="target.name")
    bundle_sha256 = serializers.CharField(source="bundle.sha256")
    previous_bundle_sha256 = serializers.CharField(source="previous_bundle.sha256", allow_null=True, default=None)
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    version = serializers.SerializerMethodField()

    class Meta:
        model = Publication
        fields = [
            "id",
            "created_at",
            "target",
            "cause",
            "status",
            "bundle_sha256",
            "previous_bundle_sha256",
            "actor",
            "reason",
            "version",
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

    def get_version(self, obj: Publication) -> str | None:
        return str(obj.version) if obj.version_id else None


class PublicationFilter(filters.FilterSet):
    target = filters.CharFilter(field_name="target__name", help_text="Target name, e.g. local.")
    status = filters.ChoiceFilter(choices=PublicationStatus.choices)
    cause = filters.ChoiceFilter(choices=PublicationCause.choices)
    bundle = filters.CharFilter(field_name="bundle__sha256", lookup_expr="startswith", help_text="sha256 prefix")
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Publication
        fields = ["target", "status", "cause", "bundle", "since", "until"]


class PublicationViewSet(viewsets.ReadOnlyModelViewSet):
    """The ledger: every bundle change per target, by whom, when, why, and how it went."""

    lookup_value_regex = r"[0-9]+"  # a non-numeric id is a 404, not a database error

    serializer_class = PublicationSerializer
    permission_classes = [
        require_permission(
            "publishing.view_publication", "Only release managers, auditors and admins may read the publication ledger."
        )
    ]
    queryset = publication_list()
    filterset_class = PublicationFilter


# --- targets and deployments ----------------------------------------------------------------


class TargetSerializer(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField()

    class Meta:
        model = PublicationTarget
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "description",
            "region",
            "runtime_name",
            "container_image_uri",
            "execution_role_arn",
            "network_mode",
            "authorizer",
            "jwt_discovery_url",
            "s3_bucket",
            "s3_prefix",
            "ssm_arn_parameter",
            "ssm_bundle_parameter",
            "bridge_poll_seconds",
            "runtime_id",
            "runtime_arn",
            "runtime_version",
            "summary",
        ]

    @extend_schema_field(
        inline_serializer(
            "TargetSummary",
            {
                "current_bundle": serializers.CharField(allow_null=True),
                "published_bundle": serializers.CharField(allow_null=True),
                "in_sync": serializers.BooleanField(),
                "pending": serializers.IntegerField(),
                "failed": serializers.IntegerField(),
                "deployment_id": serializers.IntegerField(allow_null=True),
            },
        )
    )
    def get_summary(self, obj: PublicationTarget) -> dict[str, Any]:
        summary = target_summary(obj)
        deployment = summary.pop("deployment")
        summary.pop("last_publication")
        return {**summary, "deployment_id": deployment.pk if deployment else None}


class DeploymentSerializer(serializers.ModelSerializer):
    target = serializers.CharField(source="target.name")
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True, default=None)

    class Meta:
        model = Deployment
        fields = [
            "id",
            "target",
            "action",
            "status",
            "step",
            "progress",
            "log",
            "parameters",
            "requested_by",
            "reason",
            "runtime_id",
            "runtime_arn",
            "runtime_version",
            "ssm_parameter_version",
            "error",
            "attempts",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]


class OperationSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)


class MoveEndpointSerializer(OperationSerializer):
    endpoint = serializers.RegexField(
        r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$", max_length=48, help_text="Endpoint name, e.g. production."
    )
    version = serializers.RegexField(r"^[1-9][0-9]{0,4}$", help_text="Runtime version, e.g. 3.")


_VIEW_TARGETS = require_permission(
    "publishing.view_publicationtarget", "Only release managers, auditors and admins may see publication targets."
)


class TargetViewSet(viewsets.ReadOnlyModelViewSet):
    """Publication targets, with deploy, move-endpoint and republish for release managers.

    Long work returns ``202`` at once with the deployment or publication to poll.
    """

    serializer_class = TargetSerializer
    permission_classes = [_VIEW_TARGETS]
    queryset = target_list()
    lookup_field = "name"

    @extend_schema(request=OperationSerializer, responses={202: DeploymentSerializer})
    @action(detail=True, methods=["post"])
    def deploy(self, request: Request, name: str | None = None) -> Response:
        """Create or update the AgentCore runtime (a worker does it; poll the deployment)."""
        body = OperationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        deployment = deployment_start(
            actor=request.user, target=self.get_object(), reason=body.validated_data["reason"]
        )
        return Response(DeploymentSerializer(deployment).data, status=202)

    @extend_schema(request=MoveEndpointSerializer, responses={202: DeploymentSerializer})
    @action(detail=True, methods=["post"], url_path="move-endpoint")
    def move_endpoint(self, request: Request, name: str | None = None) -> Response:
        """Point a named runtime endpoint at a runtime version (for the bridge's own upgrades)."""
        body = MoveEndpointSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        deployment = deployment_start(
            actor=request.user,
            target=self.get_object(),
            action=DeploymentAction.MOVE_ENDPOINT,
            parameters={"endpoint": data["endpoint"], "version": data["version"]},
            reason=data["reason"],
        )
        return Response(DeploymentSerializer(deployment).data, status=202)

    @extend_schema(request=OperationSerializer, responses={202: PublicationSerializer})
    @action(detail=True, methods=["post"])
    def republish(self, request: Request, name: str | None = None) -> Response:
        """Publish the current bundle to this target again (after a failure, or to repair drift)."""
        body = OperationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        publication = target_republish(
            actor=request.user, target=self.get_object(), reason=body.validated_data["reason"]
        )
        return Response(PublicationSerializer(publication).data, status=202)


class DeploymentFilter(filters.FilterSet):
    target = filters.CharFilter(field_name="target__name")
    status = filters.ChoiceFilter(choices=DeploymentStatus.choices)

    class Meta:
        model = Deployment
        fields = ["target", "status"]


class DeploymentViewSet(viewsets.ReadOnlyModelViewSet):
    """Deployments with their progress (0–100), current step and log; poll one while it runs."""

    lookup_value_regex = r"[0-9]+"  # a non-numeric id is a 404, not a database error

    serializer_class = DeploymentSerializer
    permission_classes = [
        require_permission(
            "publishing.view_deployment", "Only release managers, auditors and admins may see deployments."
        )
    ]
    queryset = deployment_list()
    filterset_class = DeploymentFilter


# --- bridges ----------------------------------------------------------------------------------


class HeartbeatSerializer(serializers.Serializer):
    bridge_id = serializers.CharField(max_length=100)
    bundle_sha256 = serializers.RegexField(r"^([0-9a-f]{64})?$", allow_blank=True)
    tools_sha256 = serializers.RegexField(r"^([0-9a-f]{64})?$", allow_blank=True)
    bridge_version = serializers.CharField(max_length=40, allow_blank=True, required=False, default="")
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    app_reachable = serializers.BooleanField(required=False, default=True)


class HeartbeatView(APIView):
    """Bridges report which bundle and tool descriptions they serve (every 10 s)."""

    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [require_scope(SCOPE_BRIDGE)]

    @extend_schema(
        request=HeartbeatSerializer,
        responses={
            200: inline_serializer(
                "HeartbeatAck",
                {"current_bundle": serializers.CharField(allow_null=True), "in_sync": serializers.BooleanField()},
            )
        },
    )
    def post(self, request: Request) -> Response:
        body = HeartbeatSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        heartbeat = bridge_heartbeat_record(**body.validated_data)
        current = current_bundle_sha256()
        return Response({"current_bundle": current, "in_sync": heartbeat.bundle_sha256 == current})


class BridgeStatusSerializer(serializers.Serializer):
    bridge_id = serializers.CharField(source="heartbeat.bridge_id")
    bundle_sha256 = serializers.CharField(source="heartbeat.bundle_sha256")
    tools_sha256 = serializers.CharField(source="heartbeat.tools_sha256")
    bridge_version = serializers.CharField(source="heartbeat.bridge_version")
    started_at = serializers.DateTimeField(source="heartbeat.started_at", allow_null=True)
    last_seen_at = serializers.DateTimeField(source="heartbeat.last_seen_at")
    app_reachable = serializers.BooleanField(source="heartbeat.app_reachable")
    online = serializers.BooleanField()
    bundle_drift = serializers.BooleanField()
    tools_drift = serializers.BooleanField()
    drift = serializers.BooleanField()


class BridgeListView(APIView):
    """Every bridge that reported, with what it serves and whether it drifts from what it should."""

    permission_classes = [
        require_permission(
            "publishing.view_bridgeheartbeat", "Only release managers, auditors and admins may see bridges."
        )
    ]

    @extend_schema(responses={200: BridgeStatusSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(BridgeStatusSerializer(bridge_statuses(), many=True).data)
