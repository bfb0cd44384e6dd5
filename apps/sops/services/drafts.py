"""Drafts: creating a version and editing it until it is submitted."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import (
    EditConflict,
    InvalidTransition,
    PermissionDenied,
)

from .. import permissions
from ..models import (
    SOP,
    SOPVersion,
    VersionOrigin,
    VersionStatus,
    content_sha256,
)
from ..validation import clean_version_fields
from ._common import _version_state, _with_history_user, version_lock

# --- drafts ----------------------------------------------------------------------------


@transaction.atomic
def sop_version_create(
    *,
    actor: Any,
    sop: SOP,
    content: str,
    summary: str,
    example_questions: list[str] | None,
    change_note: str,
    based_on: SOPVersion | None = None,
    origin: VersionOrigin = VersionOrigin.PERSON,
    check_permission: bool = True,
    audit_action: AuditAction = AuditAction.VERSION_CREATE,
    actor_label: str | None = None,
) -> SOPVersion:
    """Create the next-numbered draft version of ``sop``; return it.

    Numbers are allocated under the SOP's row lock, so concurrent drafts get distinct numbers.
    ``check_permission=False`` is for callers that authorised the actor another way (an agent
    token's ``sop:propose`` scope).

    Raises:
        PermissionDenied: the actor may not draft versions.
        InvalidInput: invalid fields (``validation.clean_version_fields``).
    """
    sop = SOP.objects.select_for_update(of=("self",)).select_related("category").get(pk=sop.pk)
    if check_permission and not permissions.can_draft(actor, sop):
        raise PermissionDenied("Only authors can draft SOP versions.")
    fields = clean_version_fields(
        content=content, summary=summary, example_questions=example_questions, change_note=change_note
    )
    number = (sop.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = _with_history_user(
        SOPVersion(
            sop=sop,
            number=number,
            author=actor,
            origin=origin,
            based_on=based_on,
            content_sha256=content_sha256(fields["content"]),
            **fields,
        ),
        actor,
    )
    version.save()
    audit_record(
        actor=actor,
        action=audit_action,
        target=version,
        sop_slug=sop.slug,
        after=_version_state(version),
        reason=fields["change_note"],
        actor_label=actor_label,
        data={"origin": origin, "based_on": based_on.number if based_on else None},
    )
    return version


@transaction.atomic
def sop_version_edit(
    *,
    actor: Any,
    version: SOPVersion,
    content: str,
    summary: str,
    example_questions: list[str] | None,
    change_note: str,
    expected_revision: int,
) -> SOPVersion:
    """Save new fields into a draft; return it with ``revision`` incremented.

    Args:
        expected_revision: the ``revision`` the editor loaded. If the draft was saved since,
            nothing is changed and ``EditConflict`` tells the user to reload and merge.

    Raises:
        PermissionDenied: the actor is not the draft's author (nor an admin).
        InvalidTransition: the version is no longer a draft (submitted versions are immutable).
        EditConflict: the draft changed since it was loaded.
        InvalidInput: invalid fields.
    """
    sop, version = version_lock(version)
    if version.status != VersionStatus.DRAFT:
        raise InvalidTransition(
            f"{version} is {version.get_status_display().lower()} and can no longer change; start a new draft instead."
        )
    if not permissions.can_edit_draft(actor, version):
        raise PermissionDenied("Only the draft's author can edit it.")
    if version.revision != expected_revision:
        raise EditConflict(
            f"{version} was saved by someone else since you opened it (revision {version.revision}, "
            f"you had {expected_revision}). Your text was not saved; copy it, reload and merge.",
            extra={"current_revision": version.revision},
        )
    fields = clean_version_fields(
        content=content, summary=summary, example_questions=example_questions, change_note=change_note
    )
    before = {k: getattr(version, k) for k in ("content_sha256", "summary", "example_questions", "change_note")}
    for name, value in fields.items():
        setattr(version, name, value)
    version.content_sha256 = content_sha256(fields["content"])
    version.revision += 1
    _with_history_user(version, actor).save()
    after = {k: getattr(version, k) for k in ("content_sha256", "summary", "example_questions", "change_note")}
    changed = {k for k in after if after[k] != before[k]}
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_EDIT,
        target=version,
        sop_slug=sop.slug,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        data={"revision": version.revision},
    )
    return version
