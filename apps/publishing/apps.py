from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PublishingConfig(AppConfig):
    name = "apps.publishing"
    label = "publishing"
    verbose_name = "Publishing"

    def ready(self) -> None:
        post_migrate.connect(_ensure_local_target, sender=self, dispatch_uid="sopgov_local_target")


def _ensure_local_target(sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
    from .models import PublicationTarget, TargetKind

    PublicationTarget.objects.using(kwargs.get("using", "default")).get_or_create(
        name="local", defaults={"kind": TargetKind.LOCAL, "description": "The bridges that pull the current bundle."}
    )
