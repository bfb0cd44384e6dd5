"""The "SOP governance" admin site: Django's admin with a role-aware dashboard."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


class SOPGovernanceAdminSite(admin.AdminSite):
    site_header = "SOP governance"
    site_title = "sopgov"
    index_title = "Dashboard"
    index_template = "admin/sopgov_index.html"
    site_url = None  # there is no public site besides the governance UI
    enable_nav_sidebar = False  # pages use the full width; the top bar has the sections

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """Show the person's work first: drafts, reviews awaiting them, versions to publish."""
        from apps.sops.dashboard import dashboard_context

        context = {**(extra_context or {}), **dashboard_context(request.user)}
        return super().index(request, context)
