from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "apps.releases"
    label = "releases"
    verbose_name = "Releases"

    def ready(self) -> None:
        # The SOP and version pages (apps.sops) show what the release layer offers there.
        from . import panels

        panels.register()
