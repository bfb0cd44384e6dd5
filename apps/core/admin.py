"""Admin building blocks shared by the apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def guarded_view(model_admin: admin.ModelAdmin, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Return ``view`` as an admin page of ``model_admin``: signed-in staff only (the admin
    site's ``admin_view``), and 403 for anyone who may not view that model — the one check every
    custom page of an admin gets before its own (a staff account without a role sees nothing).
    """

    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not model_admin.has_view_or_change_permission(request):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return model_admin.admin_site.admin_view(run)


class ReadOnlyAdminMixin:
    """For records nobody may add, change or delete in the admin (audit events, the tool-call
    log, bundles, publications): they are written by services only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
