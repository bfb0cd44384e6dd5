"""Release pages outside any one model's admin: actions on versions and rollouts, notices.

Included under ``admin/release/`` by ``sopgov.urls``; every view requires a signed-in staff user
(``admin.site.admin_view``) and checks the person's role in the entry point it calls.
"""

from django.contrib import admin
from django.urls import path

from . import admin_views

app_name = "releases"

urlpatterns = [
    path(
        "versions/<int:pk>/<str:action>/",
        admin.site.admin_view(admin_views.version_action),
        name="version_action",
    ),
    path(
        "rollouts/<int:pk>/<str:control>/",
        admin.site.admin_view(admin_views.rollout_control),
        name="rollout_control",
    ),
    path("notices/<int:pk>/dismiss/", admin.site.admin_view(admin_views.notice_dismiss), name="notice_dismiss"),
    path("agents-saw/", admin.site.admin_view(admin_views.agents_saw), name="agents_saw"),
]
