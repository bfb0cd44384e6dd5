"""Entry points for release decisions, called alike by the admin pages, the API and commands:
publish, roll back, retire, and the rollout controls. Those that change what agents are served
are e-signed (``signatures.actions.sign_and_do``: role, then password, then the service)."""

from __future__ import annotations

from typing import Any

from apps.rollouts.models import Rollout
from apps.rollouts.permissions import SIGNED_CONTROLS
from apps.signatures.actions import sign_and_do
from apps.sops.models import SOPVersion

from . import services
from .services._common import check_release_role

_DOING = {"publish": "publish", "rollback": "roll back", "retire": "retire"}


def check_release(actor: Any, action: str) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` is a release manager (for ``action``)."""
    check_release_role(actor, _DOING.get(action, "control rollouts"))


def release(
    *,
    action: str,
    actor: Any,
    version: SOPVersion,
    reason: str = "",
    password: str | None,
    meaning: str | None = None,
    immediate: bool = False,
) -> SOPVersion:
    """Publish, roll back to or retire ``version`` (``action``), e-signed; return it.

    Raises:
        KeyError: unknown ``action``. Otherwise as ``sign_and_do`` and the release services.
    """
    service = services.RELEASE_SERVICES[action]
    extra = {"immediate": immediate} if action == "publish" else {}
    return sign_and_do(
        actor=actor,
        action=action,
        check=lambda: check_release(actor, action),
        password=password,
        meaning=meaning,
        do=lambda intent: service(actor=actor, version=version, reason=reason, signature=intent, **extra),
    )


def rollout_control(
    *,
    control: str,
    actor: Any,
    rollout: Rollout,
    reason: str,
    password: str | None = None,
    meaning: str | None = None,
) -> Rollout:
    """Press a rollout control (``advance``, ``pause``, ``resume``, ``abort``, ``complete``); the ones
    in ``SIGNED_CONTROLS`` are e-signed. Return the rollout.

    Raises:
        KeyError: unknown ``control``. Otherwise as ``sign_and_do`` and the rollout services.
    """
    service: Any = services.ROLLOUT_CONTROLS[control]
    if control not in SIGNED_CONTROLS:
        return service(actor=actor, rollout=rollout, reason=reason)
    return sign_and_do(
        actor=actor,
        action=f"rollout_{control}",
        check=lambda: check_release(actor, control),
        password=password,
        meaning=meaning,
        do=lambda intent: service(actor=actor, rollout=rollout, reason=reason, signature=intent),
    )
