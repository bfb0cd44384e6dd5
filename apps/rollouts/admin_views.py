"""The rollout page: plan and stage, gates with their current numbers, a chart of outcome rates
per version over time, the decision history, and the controls this person may press."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.sops.permissions import allowed_rollout_controls

from . import selectors, services
from .models import Rollout

CONTROL_LABELS = {
    "advance": ("Advance to the next stage now", "Skips the rest of the soak time and the gates."),
    "pause": ("Pause", "The rollout stops advancing; a failing gate still rolls it back."),
    "resume": ("Resume", "Time spent paused does not count as soak time."),
    "complete": ("Complete (100 % now)", "The candidate becomes the live version for everyone."),
    "abort": ("Abort (back to stable)", "Everyone is served the stable version again."),
}


def rollout_detail(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Show one rollout."""
    rollout = selectors.rollout_list().filter(pk=object_id).first() if str(object_id).isdigit() else None
    if rollout is None:
        raise Http404("No such rollout.")
    gates = selectors.gate_results(rollout) if rollout.is_active else rollout.last_evaluation.get("gates", [])
    now = timezone.now()
    stage = rollout.stage
    in_stage = ((rollout.paused_at or rollout.ended_at or now) - rollout.stage_started_at).total_seconds()
    decisions = AuditEvent.objects.filter(target_type="rollout", target_id=str(rollout.pk)).order_by("-id")
    controls = [
        {
            "name": name,
            "label": CONTROL_LABELS[name][0],
            "help": CONTROL_LABELS[name][1],
            "url": reverse("admin:rollouts_rollout_control", args=[rollout.pk, name]),
        }
        for name in allowed_rollout_controls(request.user, rollout)
    ]
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Rollout of {rollout.sop.slug}",
        "rollout": rollout,
        "stages": [
            {**s, "index": i, "current": i == rollout.stage_index, "done": i < rollout.stage_index}
            for i, s in enumerate(rollout.stages)
        ],
        "stage": stage,
        "seconds_in_stage": int(max(in_stage, 0)),
        "soak_left": max(int(stage["min_soak_seconds"] - in_stage), 0) if rollout.is_active else 0,
        "gates": gates,
        "served": selectors.served_counts(rollout),
        "decisions": decisions,
        "controls": controls,
        "metrics_url": reverse("api:rollout-metrics", args=[rollout.pk]),
    }
    return TemplateResponse(request, "sopgov/rollout_detail.html", context)


def rollout_control(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str, control: str) -> HttpResponse:
    """Run one control from the rollout page and come back to it with the outcome."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if control not in services.ROLLOUT_CONTROLS:
        raise Http404("No such control.")
    rollout = get_object_or_404(Rollout, pk=object_id)
    try:
        rollout = services.ROLLOUT_CONTROLS[control](
            actor=request.user, rollout=rollout, reason=request.POST.get("reason", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Rollout of {rollout.sop.slug}: {CONTROL_LABELS[control][0].lower()} — "
            f"now {rollout.get_state_display().lower()} at {rollout.percentage} %.",
        )
    return redirect(reverse("admin:rollouts_rollout_change", args=[rollout.pk]))
