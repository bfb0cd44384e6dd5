"""Building bundles and recording their publication."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from apps.audit.models import AuditAction
from apps.audit.services import audit_record

from .models import Bundle, BundleHead, Publication, PublicationCause
from .selectors import bundle_payload_from_live_versions

logger = logging.getLogger(__name__)


def bundle_publish(
    *, actor: Any | None, cause: PublicationCause, reason: str = "", version: Any | None = None
) -> Publication:
    """Build the bundle of what is live now, make it current and record the publication.

    Call it inside the transaction that changed which versions are live, after the change.
    The bundle head row is locked first, so concurrent publishes are serialised and the last
    one to commit has built its bundle from every change committed before it.

    Returns:
        the new ``Publication`` (target ``local``), pointing at a new or re-used ``Bundle``
        (identical content gives the identical sha256 and the same row).
    """
    from mcp_bridge.bundle_format import bundle_sha256, canonical_bytes

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("bundle_publish must run inside the transaction that changed what is live")
    head, _ = BundleHead.objects.select_for_update().get_or_create(pk=1)
    payload = bundle_payload_from_live_versions()
    raw = canonical_bytes(payload)
    sha = bundle_sha256(raw)
    bundle, _created = Bundle.objects.get_or_create(
        sha256=sha,
        defaults={"payload": raw.decode("utf-8"), "sop_count": len(payload["sops"]), "size_bytes": len(raw)},
    )
    previous = head.bundle
    head.bundle = bundle
    head.save(update_fields=["bundle", "updated_at"])
    publication = Publication.objects.create(
        bundle=bundle, previous_bundle=previous, cause=cause, version=version, actor=actor, reason=reason
    )
    audit_record(
        actor=actor,
        action=AuditAction.BUNDLE_PUBLISH,
        target=publication,
        sop_slug=version.sop.slug if version is not None else "",
        before={"bundle_sha256": previous.sha256 if previous else None},
        after={"bundle_sha256": sha},
        reason=reason,
        data={"cause": cause, "sop_count": bundle.sop_count, "target": publication.target},
    )
    logger.info("bundle %s published (%s, %d SOPs)", sha[:12], cause, bundle.sop_count)
    return publication
