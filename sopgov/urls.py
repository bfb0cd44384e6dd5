"""URL map: the governance UI (admin site), the REST API and its schema."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from apps.agents.api.views import CredentialsView, ProposalView, ToolCallViewSet
from apps.audit.api.views import AuditEventViewSet
from apps.core.views import TokenView, healthz
from apps.publishing.api.views import (
    BridgeListView,
    CurrentBundleView,
    DeploymentViewSet,
    HeartbeatView,
    PublicationViewSet,
    TargetViewSet,
)
from apps.releases.api.views import OutcomeView, RolloutControlViewSet, TelemetryView, VersionReleaseViewSet
from apps.rollouts.api.views import RolloutPlanViewSet, RolloutViewSet
from apps.sops.api.views import CategoryViewSet, SOPViewSet, VersionViewSet

router = DefaultRouter()
router.register("categories", CategoryViewSet, basename="category")
router.register("sops", SOPViewSet, basename="sop")
router.register("versions", VersionViewSet, basename="version")
router.register("versions", VersionReleaseViewSet, basename="version-release")
router.register("audit-events", AuditEventViewSet, basename="auditevent")
router.register("tool-calls", ToolCallViewSet, basename="toolcall")
router.register("publications", PublicationViewSet, basename="publication")
router.register("targets", TargetViewSet, basename="target")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("rollouts", RolloutViewSet, basename="rollout")
router.register("rollouts", RolloutControlViewSet, basename="rollout-control")
router.register("rollout-plans", RolloutPlanViewSet, basename="rolloutplan")

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("bridge/bundle/", CurrentBundleView.as_view(), name="bridge-bundle"),
    path("bridge/credentials/", CredentialsView.as_view(), name="bridge-credentials"),
    path("bridge/telemetry/", TelemetryView.as_view(), name="bridge-telemetry"),
    path("bridge/heartbeat/", HeartbeatView.as_view(), name="bridge-heartbeat"),
    path("bridges/", BridgeListView.as_view(), name="bridges"),
    path("outcomes/", OutcomeView.as_view(), name="outcomes"),
    path("agent/proposals/", ProposalView.as_view(), name="agent-proposals"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/release/", include("apps.releases.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
