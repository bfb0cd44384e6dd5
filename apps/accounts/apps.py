from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        # Groups are synced once every app's permissions exist: after the last app migrates.
        post_migrate.connect(_sync_roles_after_migrate, dispatch_uid="sopgov_sync_role_groups")


def _sync_roles_after_migrate(sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
    from .roles import sync_role_groups

    sync_role_groups(using=kwargs.get("using", "default"))
