"""Agent tokens (issue, revoke) and the tool-call log in the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from apps.core.admin import ReadOnlyAdminMixin
from apps.core.errors import ApplicationError
from apps.sops.forms import show_application_error
from apps.sops.models import SOP
from apps.sops.permissions import can_add_routing_test

from .client_config import client_configs, mcp_url
from .models import AgentToken, ToolCall
from .permissions import AGENT_SCOPES
from .services import agent_token_issue, agent_token_revoke


class TokenIssueForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The agent or bridge, e.g. support-bot or bridge-eu-1.")
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in AGENT_SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["sop:read"],
        help_text="sop:read reads live SOPs; sop:propose proposes drafts; bridge:sync is for bridges.",
    )


@admin.register(AgentToken)
class AgentTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "token_prefix", "scopes", "active", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "token_prefix"]
    readonly_fields = ["name", "token_prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]
    exclude = ["token_sha256", "user"]
    actions = ["revoke"]

    @admin.display(boolean=True, description="Active")
    def active(self, obj: AgentToken) -> bool:
        return obj.is_active

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Issue a token and show it once."""
        if not self.has_add_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = TokenIssueForm(request.POST or None)
        issued = None
        if request.method == "POST" and form.is_valid():
            try:
                token, raw = agent_token_issue(
                    actor=request.user, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"]
                )
            except ApplicationError as exc:
                show_application_error(form, exc)
            else:
                issued = {
                    "token": token,
                    "raw": raw,
                    "configs": client_configs(raw, name="sopgov") if "sop:read" in token.scopes else [],
                }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "issued": issued,
            "title": "Issue an agent token",
            "mcp_url": mcp_url(),
        }
        return TemplateResponse(request, "sopgov/token_issue.html", context)

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[AgentToken]) -> None:
        tokens = list(queryset)
        for token in tokens:
            agent_token_revoke(actor=request.user, token=token, reason="revoked in the admin")
        messages.success(request, f"Revoked {len(tokens)} token(s); bridges refuse them within a second.")


@admin.register(ToolCall)
class ToolCallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "called_at",
        "agent_name",
        "tool",
        "sop_slug",
        "version_number",
        "routing_key",
        "short_question",
        "routing_test",
        "latency_ms",
        "result",
        "bridge_id",
    ]
    list_filter = ["tool", "is_error", "agent_name"]
    search_fields = ["routing_key", "sop_slug", "agent_name", "content_sha256", "bundle_sha256", "arguments_sha256"]
    date_hierarchy = "called_at"
    show_full_result_count = False
    list_per_page = 100

    change_list_template = "admin/agents/toolcall/change_list.html"

    @admin.display(description="Result", ordering="is_error")
    def result(self, obj: ToolCall) -> str:
        """ "ok", or "error" with what went wrong (a boolean icon read as a green tick for errors)."""
        if not obj.is_error:
            return "ok"
        return format_html('<span class="sopgov-error-text" title="{}">error</span>', obj.error)

    @admin.display(description="Question")
    def short_question(self, obj: ToolCall) -> str:
        return obj.question[:80] + ("…" if len(obj.question) > 80 else "")

    @admin.display(description="Keep as a routing test")
    def routing_test(self, obj: ToolCall) -> str:
        """For a routed question: the SOP it must reach (default: the one served) and one button
        that adds it to that SOP's routing tests (``static/sopgov/routing_tests.js``)."""
        if obj.tool != "get_sop_for_question" or not obj.question:
            return ""
        return format_html(
            '<span class="sopgov-add-test" data-question="{}" data-call="{}">'
            '<input list="sop-slugs" value="{}" placeholder="category/key" aria-label="SOP it must reach" size="22"> '
            '<button type="button" class="button">Add test</button></span>',
            obj.question,
            obj.call_id,
            obj.sop_slug,
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:

        extra = {
            "sop_slugs": [
                f"{c}/{k}"
                for c, k in SOP.objects.order_by("category__slug", "key").values_list("category__slug", "key")
            ],
            "can_add_test": can_add_routing_test(request.user, None),
            "add_test_url": reverse("admin:sops_routingtest_add"),
        }
        return super().changelist_view(request, {**(extra_context or {}), **extra})
