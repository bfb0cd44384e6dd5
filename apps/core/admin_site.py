"""The "SOP governance" admin site: Django's admin with a role-aware dashboard."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.module_loading import import_string


class SOPGovernanceAdminSite(admin.AdminSite):
    site_header = "SOP governance"
    site_title = "sopgov"
    index_title = "Dashboard"
    index_template = "admin/sopgov_index.html"
    site_url = None  # there is no public site besides the governance UI
    enable_nav_sidebar = False  # pages use the full width; the top bar has the sections

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """Show the person's work first: drafts, reviews awaiting them, versions to publish.

        The lists come from ``settings.SOPGOV_DASHBOARD`` (a dotted path to ``f(user) -> dict``),
        so this site, at the bottom of the app layers, knows nothing of the apps that fill it.
        """
        dashboard_context = import_string(settings.SOPGOV_DASHBOARD)
        context = {**(extra_context or {}), **dashboard_context(request.user)}
        return super().index(request, context)
