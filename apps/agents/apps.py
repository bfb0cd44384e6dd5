from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "apps.agents"
    label = "agents"
    verbose_name = "Agents and bridges"

    def ready(self) -> None:
        from .api import schema  # noqa: F401 - registers the OpenAPI auth extension
