"""The current bundle for bridges, and the publication ledger for people."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.agents.api.authentication import AgentTokenAuthentication, require_scope
from apps.core.api import require_permission
from apps.sops.permissions import SCOPE_BRIDGE

from ..models import Publication
from ..selectors import current_bundle, current_bundle_sha256, publication_list


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
        ]

    def get_version(self, obj: Publication) -> str | None:
        return str(obj.version) if obj.version_id else None


class PublicationViewSet(viewsets.ReadOnlyModelViewSet):
    """Every bundle change: what was made current, by whom, when and why."""

    serializer_class = PublicationSerializer
    permission_classes = [
        require_permission(
            "publishing.view_publication", "Only release managers, auditors and admins may read the publication ledger."
        )
    ]
    queryset = publication_list()
    filterset_fields = ["target", "cause", "status"]
