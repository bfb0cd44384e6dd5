"""Roles are Django groups; this module says which permissions each role holds.

``sync_role_groups`` runs after every ``migrate``, so the groups always match this table.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

AUTHOR = "author"
REVIEWER = "reviewer"
RELEASE_MANAGER = "release manager"
AUDITOR = "auditor"
ADMIN = "admin"

_READ = [
    "sops.view_category",
    "sops.view_sop",
    "sops.view_sopversion",
    "sops.view_review",
    "rollouts.view_rollout",
    "rollouts.view_rolloutplan",
    "rollouts.view_planstage",
    "rollouts.view_gaterule",
]
_PLAN_EDIT = [
    "rollouts.add_rolloutplan",
    "rollouts.change_rolloutplan",
    "rollouts.add_planstage",
    "rollouts.change_planstage",
    "rollouts.delete_planstage",
    "rollouts.add_gaterule",
    "rollouts.change_gaterule",
    "rollouts.delete_gaterule",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    AUTHOR: _READ
    + [
        "sops.add_sop",
        "sops.change_sop",
        "sops.add_sopversion",
        "sops.change_sopversion",
        "sops.submit_sopversion",
    ],
    REVIEWER: _READ + ["sops.review_sopversion"],
    RELEASE_MANAGER: _READ
    + _PLAN_EDIT
    + [
        "rollouts.view_outcome",
        "publishing.view_publicationtarget",
        "publishing.deploy_publicationtarget",
        "publishing.view_deployment",
        "publishing.view_bridgeheartbeat",
        "sops.publish_sopversion",
        "publishing.view_bundle",
        "publishing.view_publication",
        "audit.view_auditevent",
        "agents.view_toolcall",
    ],
    AUDITOR: _READ
    + [
        "rollouts.view_outcome",
        "publishing.view_publicationtarget",
        "publishing.view_deployment",
        "publishing.view_bridgeheartbeat",
        "audit.view_auditevent",
        "publishing.view_bundle",
        "publishing.view_publication",
        "agents.view_toolcall",
        "agents.view_agenttoken",
    ],
    ADMIN: _READ
    + _PLAN_EDIT
    + [
        "rollouts.view_outcome",
        "publishing.view_publicationtarget",
        "publishing.add_publicationtarget",
        "publishing.change_publicationtarget",
        "publishing.deploy_publicationtarget",
        "publishing.view_deployment",
        "publishing.view_bridgeheartbeat",
        "sops.add_category",
        "sops.change_category",
        "sops.add_sop",
        "sops.change_sop",
        "audit.view_auditevent",
        "publishing.view_bundle",
        "publishing.view_publication",
        "agents.view_toolcall",
        "agents.view_agenttoken",
        "agents.add_agenttoken",
        "agents.change_agenttoken",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
    ],
}
ROLES = list(ROLE_PERMISSIONS)


def sync_role_groups(using: str = "default") -> None:
    """Create the role groups and set each one's permissions to exactly ``ROLE_PERMISSIONS``.

    Permissions that do not exist yet (an app not migrated) are skipped; the next migrate adds them.
    """
    with transaction.atomic(using=using):
        for role, perms in ROLE_PERMISSIONS.items():
            group, _ = Group.objects.using(using).get_or_create(name=role)
            wanted = []
            for perm in perms:
                app_label, codename = perm.split(".")
                p = Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename).first()
                if p is not None:
                    wanted.append(p)
            group.permissions.set(wanted)
