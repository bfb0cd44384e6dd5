from django.apps import AppConfig


class SopsConfig(AppConfig):
    name = "apps.sops"
    label = "sops"
    verbose_name = "SOPs"
