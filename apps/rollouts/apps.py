from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RolloutsConfig(AppConfig):
    name = "apps.rollouts"
    label = "rollouts"
    verbose_name = "Rollouts"

    def ready(self) -> None:
        post_migrate.connect(_ensure_default_plan, sender=self, dispatch_uid="sopgov_default_rollout_plan")


def _ensure_default_plan(sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
    from .defaults import ensure_default_plan

    ensure_default_plan(using=kwargs.get("using", "default"))
