"""The people list: each person's roles at a glance, and the agents' service accounts apart."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Q, QuerySet
from django.http import HttpRequest

User = get_user_model()

SERVICE_ACCOUNTS = Q(username__startswith="agent-") & Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)
"""Accounts made for agent tokens (``agents.services.agent_token_issue``): ``agent-<name>``, no password."""


class AccountKindFilter(admin.SimpleListFilter):
    """People by default; the agents' service accounts on request."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("agents", "Agent service accounts"), ("all", "Everyone")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "agents":
            return queryset.filter(SERVICE_ACCOUNTS)
        if self.value() == "all":
            return queryset
        return queryset.exclude(SERVICE_ACCOUNTS)


class PeopleAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "roles", "is_active", "last_login")
    list_filter = (AccountKindFilter, "is_active", "groups")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Roles")
    def roles(self, obj: Any) -> str:
        return ", ".join(sorted(group.name for group in obj.groups.all())) or "—"


admin.site.unregister(User)
admin.site.register(User, PeopleAdmin)
