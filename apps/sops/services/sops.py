"""SOPs: creating them and changing their title or owner."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import (
    Conflict,
    PermissionDenied,
)

from .. import permissions
from ..models import (
    SOP,
    Category,
)
from ..validation import clean_sop_fields
from ._common import _with_history_user

# --- SOPs ------------------------------------------------------------------------------


@transaction.atomic
def sop_create(*, actor: Any, category: Category, key: str, title: str, owner: Any | None = None) -> SOP:
    """Create an SOP ``category/key`` owned by ``owner`` (default: the actor); return it.

    Raises:
        PermissionDenied: the actor may not create SOPs.
        InvalidInput: bad key or title.
        Conflict: ``category/key`` exists already.
    """
    if not permissions.can_create_sop(actor):
        raise PermissionDenied("Only authors can create SOPs.")
    fields = clean_sop_fields(key=key, title=title)
    if SOP.objects.filter(category=category, key=fields["key"]).exists():
        raise Conflict(f"The SOP {category.slug}/{fields['key']} already exists.")
    sop = _with_history_user(SOP(category=category, owner=owner or actor, **fields), actor)
    try:
        with transaction.atomic():
            sop.save()
    except IntegrityError as exc:  # a concurrent create won the race
        raise Conflict(f"The SOP {category.slug}/{fields['key']} already exists.") from exc
    audit_record(
        actor=actor,
        action=AuditAction.SOP_CREATE,
        target=sop,
        sop_slug=sop.slug,
        after={"category": category.slug, "key": sop.key, "title": sop.title, "owner": sop.owner.get_username()},
    )
    return sop


@transaction.atomic
def sop_update(*, actor: Any, sop: SOP, title: str, owner: Any) -> SOP:
    """Change an SOP's title and owner; return it.

    Raises:
        PermissionDenied: the actor is neither the owner nor an admin.
        InvalidInput: empty or over-long title.
    """
    sop = SOP.objects.select_for_update(of=("self",)).select_related("category", "owner").get(pk=sop.pk)
    if not permissions.can_change_sop(actor, sop):
        raise PermissionDenied("Only the SOP's owner or an admin can change its details.")
    title = clean_sop_fields(key=sop.key, title=title)["title"]
    before = {"title": sop.title, "owner": sop.owner.get_username()}
    sop.title, sop.owner = title, owner
    _with_history_user(sop, actor).save()
    after = {"title": sop.title, "owner": owner.get_username()}
    if after != before:
        audit_record(
            actor=actor, action=AuditAction.SOP_UPDATE, target=sop, sop_slug=sop.slug, before=before, after=after
        )
    return sop
