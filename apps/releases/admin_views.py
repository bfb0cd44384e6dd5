"""The release pages inside the admin: release actions from the version page, the rollout page
and its controls, dismissing a notice. Each view parses its form, calls one entry point
(``actions``) and shows the outcome."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.rollouts import gates as gate_rules
from apps.rollouts.models import Rollout
from apps.rollouts.permissions import SIGNED_CONTROLS, allowed_rollout_controls
from apps.rollouts.selectors import rollout_list, rollout_summary
from apps.signatures.models import ACTION_MEANINGS
from apps.signatures.services import printed_name
from apps.signatures.unsent import keep_unsent
from apps.sops.models import SOP, SOPVersion
from apps.sops.permissions import can_add_routing_test

from . import actions, services
from .forms import AgentsSawForm
from .selectors import what_agents_saw

CONTROL_LABELS = {
    "advance": (
        "Advance to the next stage now",
        "Skips the rest of the soak time, the minimum outcomes and the gates.",
    ),
    "pause": ("Pause", "The rollout stops advancing; harm still rolls it back."),
    "resume": ("Resume", "Time spent paused does not count as soak time; the served split is judged afresh."),
    "complete": ("Complete (100 % now)", "The candidate becomes the live version for everyone."),
    "abort": ("Abort (back to stable)", "Everyone is served the stable version again."),
}

_RELEASED = {
    "publish": "Published {version}: {outcome}.",
    "rollback": "Rolled back to {version}: it is live again.",
    "retire": "Retired {version}: agents are no longer served this SOP.",
}


def version_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Publish, roll back to or retire a version from its page and come back with the outcome."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if action not in services.RELEASE_SERVICES:
        raise Http404("No such action.")
    version = get_object_or_404(SOPVersion.objects.select_related("sop"), pk=pk)
    try:
        version = actions.release(
            action=action,
            actor=request.user,
            version=version,
            reason=request.POST.get("text", ""),
            password=request.POST.get("password", ""),
            meaning=request.POST.get("meaning") or None,
            immediate=request.POST.get("immediate") == "1",
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        keep_unsent(request, version_id=version.pk, action=action)
    else:
        outcome = (
            "a rollout started; it is now the canary"
            if version.status == "canary"
            else "it is live for every conversation"
        )
        messages.success(request, _RELEASED[action].format(version=version, outcome=outcome))
    return redirect(reverse("admin:sops_sopversion_change", args=[version.pk]))


def rollout_detail(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Show one rollout: stages, served split, gates with their intervals, charts, decisions, controls."""
    rollout = rollout_list().filter(pk=object_id).first() if str(object_id).isdigit() else None
    if rollout is None:
        raise Http404("No such rollout.")
    now = timezone.now()
    summary = rollout_summary(rollout, now)
    stage = rollout.stage
    in_stage = ((rollout.paused_at or rollout.ended_at or now) - rollout.stage_started_at).total_seconds()
    stage_outcomes = summary["stage_outcomes"]
    controls = [
        {
            "name": name,
            "label": CONTROL_LABELS[name][0],
            "help": CONTROL_LABELS[name][1],
            "url": reverse("releases:rollout_control", args=[rollout.pk, name]),
            "meanings": [(m.value, m.label) for m in ACTION_MEANINGS.get(f"rollout_{name}", ())]
            if name in SIGNED_CONTROLS
            else [],
        }
        for name in allowed_rollout_controls(request.user, rollout)
    ]
    stages = []
    for i, s in enumerate(rollout.stages):
        stages.append(
            {
                **s,
                "index": i,
                "current": i == rollout.stage_index and rollout.is_active,
                "done": i < rollout.stage_index,
                "candidate_outcomes": stage_outcomes[i]["candidate"] if i < len(stage_outcomes) else None,
            }
        )
    current_outcomes = stage_outcomes[-1]["candidate"] if stage_outcomes else 0
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Rollout of {rollout.sop.slug}",
        "rollout": rollout,
        "stages": stages,
        "stage": stage,
        "seconds_in_stage": int(max(in_stage, 0)),
        "soak_left": max(int(stage["min_soak_seconds"] - in_stage), 0) if rollout.is_active else 0,
        "outcomes_left": max(int(stage.get("min_outcomes", 0)) - current_outcomes, 0) if rollout.is_active else 0,
        "alpha_per_gate": gate_rules.alpha_per_gate(rollout.alpha, rollout.stages),
        "gates": [{**g, "label": gate_rules.gate_label(g)} for g in summary["gates"]],
        "summary": summary,
        "decisions": AuditEvent.objects.filter(target_type="rollout", target_id=str(rollout.pk)).order_by("-id"),
        "controls": controls,
        "signer_name": printed_name(request.user),
        "metrics_url": reverse("api:rollout-metrics", args=[rollout.pk]),
    }
    return TemplateResponse(request, "sopgov/rollout_detail.html", context)


def rollout_control(request: HttpRequest, pk: int, control: str) -> HttpResponse:
    """Press one control from the rollout page and come back to it with the outcome."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if control not in services.ROLLOUT_CONTROLS:
        raise Http404("No such control.")
    rollout = get_object_or_404(Rollout, pk=pk)
    try:
        rollout = actions.rollout_control(
            control=control,
            actor=request.user,
            rollout=rollout,
            reason=request.POST.get("reason", ""),
            password=request.POST.get("password", ""),
            meaning=request.POST.get("meaning") or None,
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


def notice_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Dismiss one of the person's notices and go back to the dashboard."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.notice_dismiss(actor=request.user, notice_id=pk)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return redirect(reverse("admin:index"))


def agents_saw(request: HttpRequest) -> HttpResponse:
    """For an SOP at a moment: the bundle then current and the stable and canary versions it
    served; for a routing key: every tool call of that conversation and exactly what it got.
    For those who may read the audit trail."""
    if not request.user.has_perm("audit.view_auditevent"):
        raise DjangoPermissionDenied
    form = AgentsSawForm(request.GET or None)
    result: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        result = what_agents_saw(
            sop_slug=data.get("sop") or "",
            at=data.get("at") or timezone.now(),
            routing_key=data.get("routing_key") or "",
        )
    context = {
        **admin.site.each_context(request),
        "title": "What did agents see?",
        "form": form,
        "can_add_test": can_add_routing_test(request.user, None),
        "sop_slugs": [
            f"{c}/{k}" for c, k in SOP.objects.order_by("category__slug", "key").values_list("category__slug", "key")
        ],
        **result,
    }
    return TemplateResponse(request, "sopgov/agents_saw.html", context)
