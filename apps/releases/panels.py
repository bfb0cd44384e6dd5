"""What the release layer adds to the SOP and version pages of ``sops`` (``sops.panels``): the
rollout in progress, and the release buttons — publish (or start a rollout, with how long each
stage would take at the SOP's traffic), roll back, retire — for release managers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from apps.rollouts.models import ACTIVE_STATES
from apps.rollouts.selectors import active_rollout
from apps.signatures.models import ACTION_MEANINGS
from apps.signatures.unsent import restore_unsent
from apps.sops.models import SOP, SOPVersion, VersionStatus
from apps.sops.panels import Panel, register_sop_panels, register_version_panels

from .permissions import allowed_release_actions
from .selectors import plan_preview

ACTION_LABELS = {
    "publish": ("Publish", "Agents are served this version at once.", "Reason (optional)", False),
    "rollback": (
        "Roll back to this version",
        "This version goes live again; the live version is superseded.",
        "Reason (required)",
        True,
    ),
    "retire": ("Retire", "Agents stop being served this SOP.", "Reason (required)", True),
}


def _rollout_banner(sop: SOP) -> list[Panel]:
    rollout = active_rollout(sop)
    return [Panel("main", "sopgov/releases/_rollout_banner.html", {"rollout": rollout})] if rollout else []


def version_panels(request: HttpRequest, version: SOPVersion) -> list[Panel]:
    """The version page's release panels: the SOP's rollout banner, this version's past rollouts
    as the candidate, and this person's release buttons."""
    panels = _rollout_banner(version.sop)
    past = list(version.rollouts.exclude(state__in=ACTIVE_STATES).order_by("-started_at")[:10])
    if past:
        panels.append(Panel("main", "sopgov/releases/_past_rollouts.html", {"rollouts": past}))
    forms: list[dict[str, Any]] = []
    for name in allowed_release_actions(request.user, version):
        label, help_text, text_label, needs_text = ACTION_LABELS[name]
        form: dict[str, Any] = {
            "name": name,
            "label": label,
            "help": help_text,
            "text_label": text_label,
            "needs_text": needs_text,
            "url": reverse("releases:version_action", args=[version.pk, name]),
            "meanings": [(m.value, m.label) for m in ACTION_MEANINGS.get(name, ())],
        }
        if name == "publish" and version.sop.versions.filter(status=VersionStatus.LIVE).exists():
            preview = plan_preview(version.sop)
            if preview["stages"][0]["percentage"] < 100:
                stages = " → ".join(f"{s['percentage']} %" for s in preview["stages"])
                form.update(
                    label="Start rollout",
                    help=f"Served to a growing share of conversations ({stages}), advancing while there is no "
                    "evidence of harm; rolled back by itself when harm is clear.",
                    offer_immediate=True,
                    preview=preview,
                )
        forms.append(form)
    restore_unsent(request, version.pk, forms)
    if forms:
        panels.append(Panel("side", "sopgov/releases/_release_actions.html", {"action_forms": forms}))
    return panels


def sop_panels(request: HttpRequest, sop: SOP) -> list[Panel]:
    """The SOP page's release panels: the rollout banner."""
    return _rollout_banner(sop)


def register() -> None:
    """Register the panels with ``sops`` (called from ``ReleasesConfig.ready``)."""
    register_version_panels(version_panels)
    register_sop_panels(sop_panels)
