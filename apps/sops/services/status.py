"""The one writer of a version's status.

Every status change — review decisions here, release decisions in ``apps.releases`` — goes
through ``version_transition``: it checks the change against the lifecycle table
(``workflow.TRANSITIONS``), saves the version with the actor in its history and writes exactly
one audit event, with the transition's own action and the state before and after.
``SOPVersion.save`` refuses a status change made any other way.
"""

from __future__ import annotations

from typing import Any

from apps.audit.services import audit_record
from apps.core.errors import InvalidTransition

from ..models import SOP, SOPVersion, VersionStatus
from ..workflow import Transition
from ._common import _version_state, _with_history_user

_PAST = {
    "submit": "submitted",
    "approve": "approved",
    "reject": "rejected",
    "withdraw": "withdrawn",
    "publish": "published",
    "go_live": "made live",
    "start_canary": "made the canary",
    "complete_rollout": "made live by its rollout",
    "withdraw_canary": "withdrawn from its rollout",
    "supersede": "superseded",
    "rollback": "rolled back to",
    "retire": "retired",
}


def guard_state(version: SOPVersion, transition: Transition, verb: str | None = None) -> None:
    """Raise ``InvalidTransition`` unless ``version`` is in one of ``transition``'s source states.

    ``verb`` names the person's action in the message (``"publish"`` for go live / start canary).
    """
    if version.status not in transition.sources:
        allowed = " or ".join(sorted(VersionStatus(s).label.lower() for s in transition.sources))
        doing = verb or transition.action.replace("_", " ")
        raise InvalidTransition(
            f"Cannot {doing} {version}: it is {version.get_status_display().lower()}, "
            f"and only a version that is {allowed} can be {_PAST.get(verb or transition.action, doing + 'ed')}.",
            extra={"status": version.status, "action": verb or transition.action},
        )


def version_transition(
    *,
    sop: SOP,
    version: SOPVersion,
    actor: Any | None,
    transition: Transition,
    reason: str = "",
    data: dict[str, Any] | None = None,
    **stamps: Any,
) -> SOPVersion:
    """Move ``version`` along ``transition`` and record it; return the version.

    Sets the status and the given fields (``decided_at=…``, ``published_at=…``), saves with
    ``actor`` (``None``: the system) in the version's history, and writes one audit event with
    ``transition.audit_action``, the status before and after, ``reason`` and ``data``.

    For services that hold the SOP's lock (``version_lock``) and checked the actor's role.

    Raises:
        InvalidTransition: the version is not in a source state of ``transition``.
    """
    guard_state(version, transition)
    before = _version_state(version)
    version.status = transition.target
    for field, value in stamps.items():
        setattr(version, field, value)
    version._status_writer = True  # type: ignore[attr-defined]  # lets SOPVersion.save accept the change
    try:
        _with_history_user(version, actor).save()
    finally:
        version._status_writer = False  # type: ignore[attr-defined]
    audit_record(
        actor=actor,
        action=transition.audit_action,
        target=version,
        sop_slug=sop.slug,
        before=before,
        after=_version_state(version),
        reason=reason,
        data=data,
    )
    return version
