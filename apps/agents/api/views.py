"""Endpoints bridges and agents call with their tokens, and the tool-call log for auditors."""

from __future__ import annotations

import hashlib
import json

from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import require_permission
from apps.core.filters import IsoDateTimeFilter
from apps.core.throttling import PerAgentTokenThrottle
from apps.sops.api.serializers import VersionSerializer

from .. import selectors, services
from ..models import AgentToken, ToolCall
from ..permissions import SCOPE_BRIDGE, SCOPE_PROPOSE
from .authentication import AgentTokenAuthentication, require_scope


def _etag_matches(request: Request, etag: str) -> bool:
    return request.headers.get("If-None-Match", "").strip() in (f'"{etag}"', etag)


class CredentialsView(APIView):
    """The active agent tokens' hashes and scopes, for bridges to authenticate agents."""

    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [require_scope(SCOPE_BRIDGE)]

    @extend_schema(responses={200: dict, 304: None})
    def get(self, request: Request) -> HttpResponse:
        raw = json.dumps(selectors.credentials_snapshot(), sort_keys=True, separators=(",", ":")).encode()
        etag = hashlib.sha256(raw).hexdigest()
        if _etag_matches(request, etag):
            return HttpResponse(status=304, headers={"ETag": f'"{etag}"'})
        return HttpResponse(raw, content_type="application/json", headers={"ETag": f'"{etag}"'})


class ProposalSerializer(serializers.Serializer):
    category = serializers.CharField(max_length=64)
    sop_key = serializers.CharField(max_length=100)
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)
    rationale = serializers.CharField(allow_blank=True)


class ProposalView(APIView):
    """An agent proposes new content for an SOP; it becomes a draft for people to review."""

    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [require_scope(SCOPE_PROPOSE)]
    throttle_classes = [PerAgentTokenThrottle]
    throttle_scope = "proposal"

    @extend_schema(request=ProposalSerializer, responses={201: VersionSerializer})
    def post(self, request: Request) -> Response:
        body = ProposalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assert isinstance(request.auth, AgentToken)  # guaranteed by require_scope
        version = services.sop_change_propose(token=request.auth, **body.validated_data)
        return Response(
            {"id": version.pk, "sop": version.sop.slug, "number": version.number, "status": version.status},
            status=status.HTTP_201_CREATED,
        )


class ToolCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = ToolCall
        fields = [
            "call_id",
            "called_at",
            "bridge_id",
            "tool",
            "agent_name",
            "routing_key",
            "arguments_sha256",
            "sop_slug",
            "version_number",
            "content_sha256",
            "bundle_sha256",
            "latency_ms",
            "is_error",
            "error",
            "variant",
            "bucket",
            "question",
        ]


class ToolCallFilter(filters.FilterSet):
    agent = filters.CharFilter(field_name="agent_name")
    sop = filters.CharFilter(field_name="sop_slug")
    tool = filters.CharFilter()
    routing_key = filters.CharFilter()
    since = IsoDateTimeFilter(field_name="called_at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="called_at", lookup_expr="lt")

    class Meta:
        model = ToolCall
        fields = ["agent", "sop", "tool", "routing_key", "since", "until"]


class ToolCallViewSet(viewsets.ReadOnlyModelViewSet):
    """What agents were served: one record per MCP tool call."""

    serializer_class = ToolCallSerializer
    permission_classes = [
        require_permission(
            "agents.view_toolcall", "Only auditors, release managers and admins may read the tool-call log."
        )
    ]
    filterset_class = ToolCallFilter
    queryset = selectors.tool_call_list()
    lookup_field = "call_id"
