"""Extension points of the SOP and version pages, after Wagtail's hooks.

``sops`` knows nothing of the apps above it; the release layer (``apps.releases``) registers
here, at start-up, the panels it adds to these pages — release buttons, the rollout in progress —
so dependencies keep pointing one way. A panel is a template and its context, placed in a slot
of the page (``main`` under the facts, ``side`` among the actions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Panel:
    """A piece of a page: ``template`` rendered with ``context`` in ``slot`` (``main`` or ``side``)."""

    slot: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


PanelProvider = Callable[[HttpRequest, Any], list[Panel]]

_VERSION_PAGE: list[PanelProvider] = []
_SOP_PAGE: list[PanelProvider] = []


def register_version_panels(provider: PanelProvider) -> PanelProvider:
    """Add ``provider(request, version) -> [Panel]`` to the version page (idempotent)."""
    if provider not in _VERSION_PAGE:
        _VERSION_PAGE.append(provider)
    return provider


def register_sop_panels(provider: PanelProvider) -> PanelProvider:
    """Add ``provider(request, sop) -> [Panel]`` to the SOP page (idempotent)."""
    if provider not in _SOP_PAGE:
        _SOP_PAGE.append(provider)
    return provider


def _collect(providers: list[PanelProvider], request: HttpRequest, obj: Any) -> dict[str, list[Panel]]:
    slots: dict[str, list[Panel]] = {"main": [], "side": []}
    for provider in providers:
        for panel in provider(request, obj):
            slots.setdefault(panel.slot, []).append(panel)
    return slots


def version_page_panels(request: HttpRequest, version: Any) -> dict[str, list[Panel]]:
    """Return the registered panels of ``version``'s page by slot: ``{"main": [...], "side": [...]}``."""
    return _collect(_VERSION_PAGE, request, version)


def sop_page_panels(request: HttpRequest, sop: Any) -> dict[str, list[Panel]]:
    """Return the registered panels of ``sop``'s page by slot."""
    return _collect(_SOP_PAGE, request, sop)
