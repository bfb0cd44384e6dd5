"""Replace Django's default admin site with the "SOP governance" site."""

from django.contrib.admin.apps import AdminConfig


class SopgovAdminConfig(AdminConfig):
    default_site = "apps.core.admin_site.SOPGovernanceAdminSite"
