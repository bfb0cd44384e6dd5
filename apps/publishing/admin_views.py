"""The operations panel of a publication target's page: where it stands, its latest deployment
(with a progress bar that follows the worker), recent publications, and the buttons."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse

from apps.core.errors import ApplicationError

from .deployments import deployment_start
from .models import DeploymentAction, PublicationTarget, TargetKind
from .permissions import can_deploy
from .selectors import bridge_statuses, publication_list, target_summary
from .services import target_republish

OPERATIONS = ("deploy", "republish", "move_endpoint")


def target_context(request: HttpRequest, target: PublicationTarget) -> dict[str, Any]:
    """Return the template context of the operations panel for ``target``."""
    summary = target_summary(target)
    deployment = summary["deployment"]
    allowed = can_deploy(request.user) and target.kind == TargetKind.AGENTCORE
    return {
        "target": target,
        "summary": summary,
        "deployment": deployment,
        "deployment_poll_url": reverse("api:deployment-detail", args=[deployment.pk]) if deployment else "",
        "recent_publications": list(publication_list().filter(target=target)[:10]),
        "bridges": bridge_statuses() if target.kind == TargetKind.LOCAL else [],
        "operations": {
            name: reverse("admin:publishing_publicationtarget_operation", args=[target.pk, name]) for name in OPERATIONS
        }
        if allowed
        else {},
    }


def target_operation(request: HttpRequest, object_id: str, operation: str) -> HttpResponse:
    """Start a deployment, a republication or an endpoint move, then come back to the target."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if operation not in OPERATIONS:
        raise Http404("No such operation.")
    target = get_object_or_404(PublicationTarget, pk=object_id)
    reason = request.POST.get("reason", "").strip()
    try:
        if operation == "republish":
            publication = target_republish(actor=request.user, target=target, reason=reason)
            messages.success(
                request,
                f"Publishing bundle {publication.bundle.sha256[:12]} to {target.name} again; "
                "the ledger below shows how it goes.",
            )
        else:
            parameters: dict[str, Any] = {}
            action = DeploymentAction.DEPLOY
            if operation == "move_endpoint":
                action = DeploymentAction.MOVE_ENDPOINT
                parameters = {
                    "endpoint": request.POST.get("endpoint", "").strip(),
                    "version": request.POST.get("version", "").strip(),
                }
            deployment = deployment_start(
                actor=request.user, target=target, action=action, parameters=parameters, reason=reason
            )
            messages.success(request, f"Deployment {deployment.pk} started; the progress bar follows it.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("admin:publishing_publicationtarget_change", args=[target.pk]))
