"""Release endpoints: publish / roll back / retire a version, the rollout controls, and the
outcome signals that drive the gates (agents' reports, bridges' telemetry).

Every signed action checks the person's role first (403 before the body is even read), then
validates the body, then signs and acts through the same entry point as the admin pages
(``releases.actions``).
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agents.api.authentication import AgentTokenAuthentication, require_scope
from apps.agents.models import AgentToken
from apps.agents.permissions import SCOPE_BRIDGE, SCOPE_REPORT
from apps.rollouts.api.views import RolloutSerializer
from apps.rollouts.models import OutcomeKind, OutcomeSource, Rollout
from apps.rollouts.selectors import rollout_list
from apps.signatures.models import SignatureMeaning
from apps.sops.api.serializers import SignedPublishSerializer, SignedReasonSerializer, VersionSerializer, version_data
from apps.sops.api.views import CanViewSOPs
from apps.sops.models import SOPVersion
from apps.sops.selectors import version_list

from .. import actions, services


class VersionReleaseViewSet(viewsets.GenericViewSet):
    """Release actions on a version (e-signed): ``/versions/{id}/publish/``, ``rollback/``, ``retire/``.

    Errors: 403 not a release manager or wrong password, 400 invalid body or no password, 409
    invalid transition or a rollout in progress, 429 signing locked.
    """

    lookup_value_regex = r"[0-9]+"  # a non-numeric id is a 404, not a database error

    permission_classes = [CanViewSOPs]
    serializer_class = VersionSerializer

    def get_queryset(self) -> QuerySet[SOPVersion]:
        return version_list()

    def _release(self, request: Request, name: str, body_class: type) -> Response:
        version = self.get_object()
        actions.check_release(request.user, name)
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        version = actions.release(
            action=name,
            actor=request.user,
            version=version,
            reason=body.validated_data["reason"],
            password=body.validated_data["password"],
            meaning=body.validated_data.get("meaning"),
            immediate=body.validated_data.get("immediate", False),
        )
        return Response(version_data(version, {"request": request}))

    @extend_schema(
        request=SignedPublishSerializer,
        responses={200: VersionSerializer},
        summary="Publish an approved version (e-signed): starts a staged rollout when a version is live",
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        return self._release(request, "publish", SignedPublishSerializer)

    @extend_schema(
        request=SignedReasonSerializer,
        responses={200: VersionSerializer},
        summary="Roll back to a previously live version (e-signed; reason required)",
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        return self._release(request, "rollback", SignedReasonSerializer)

    @extend_schema(
        request=SignedReasonSerializer,
        responses={200: VersionSerializer},
        summary="Retire the live version (e-signed; reason required)",
    )
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str | None = None) -> Response:
        return self._release(request, "retire", SignedReasonSerializer)


class RolloutControlSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")


class SignedRolloutControlSerializer(RolloutControlSerializer):
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, help_text="Your password, re-entered to sign this decision."
    )
    meaning = serializers.ChoiceField(choices=SignatureMeaning.choices, required=False, allow_null=True, default=None)


class RolloutControlViewSet(viewsets.GenericViewSet):
    """Rollout controls (release managers, reason required): ``advance``, ``complete`` and ``abort``
    are e-signed; ``pause`` and ``resume`` are not. 403 for others, 409 for a rollout in the wrong state."""

    lookup_value_regex = r"[0-9]+"  # a non-numeric id is a 404, not a database error

    permission_classes = [CanViewSOPs]
    serializer_class = RolloutSerializer

    def get_queryset(self) -> QuerySet[Rollout]:
        return rollout_list()

    def _control(self, request: Request, name: str, body_class: type) -> Response:
        rollout = self.get_object()
        actions.check_release(request.user, name)
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        rollout = actions.rollout_control(
            control=name,
            actor=request.user,
            rollout=rollout,
            reason=body.validated_data["reason"],
            password=body.validated_data.get("password"),
            meaning=body.validated_data.get("meaning"),
        )
        return Response(RolloutSerializer(rollout_list().get(pk=rollout.pk), context={"request": request}).data)

    @extend_schema(
        request=SignedRolloutControlSerializer,
        responses={200: RolloutSerializer},
        summary="Move to the next stage now (e-signed)",
    )
    @action(detail=True, methods=["post"])
    def advance(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "advance", SignedRolloutControlSerializer)

    @extend_schema(request=RolloutControlSerializer, responses={200: RolloutSerializer}, summary="Stop advancing")
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "pause", RolloutControlSerializer)

    @extend_schema(request=RolloutControlSerializer, responses={200: RolloutSerializer}, summary="Advance again")
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "resume", RolloutControlSerializer)

    @extend_schema(
        request=SignedRolloutControlSerializer,
        responses={200: RolloutSerializer},
        summary="Serve stable to everyone (e-signed)",
    )
    @action(detail=True, methods=["post"])
    def abort(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "abort", SignedRolloutControlSerializer)

    @extend_schema(
        request=SignedRolloutControlSerializer,
        responses={200: RolloutSerializer},
        summary="Promote to 100 % now (e-signed)",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        return self._control(request, "complete", SignedRolloutControlSerializer)


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


class TelemetrySerializer(serializers.Serializer):
    bridge_id = serializers.CharField(max_length=100)
    calls = serializers.ListField(child=serializers.JSONField(), allow_empty=True, required=False, default=list)
    outcomes = serializers.ListField(child=serializers.JSONField(), allow_empty=True, required=False, default=list)


class TelemetryView(APIView):
    """Bridges post the tool calls they served and the outcomes agents reported, in batches.
    Re-sent records are stored once; malformed records are rejected one by one."""

    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [require_scope(SCOPE_BRIDGE)]

    @extend_schema(
        request=TelemetrySerializer,
        responses={
            200: inline_serializer(
                "TelemetryStored",
                {
                    "stored": serializers.IntegerField(),
                    "calls": serializers.IntegerField(),
                    "outcomes": serializers.IntegerField(),
                    "rejected": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        body = TelemetrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.telemetry_ingest(
            bridge_id=body.validated_data["bridge_id"],
            calls=body.validated_data["calls"],
            outcomes=body.validated_data["outcomes"],
        )
        return Response(
            {"stored": result.stored, "calls": result.calls, "outcomes": result.outcomes, "rejected": result.rejected}
        )
