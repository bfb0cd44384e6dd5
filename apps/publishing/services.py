"""Storing bundles, making one current and recording its publication per target.

What goes into a bundle — which versions agents are served — is decided by the release layer
(``apps.releases``), which builds the payload and calls ``bundle_store``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from apps.audit.models import AuditAction
from apps.audit.services import audit_record

from .models import (
    BridgeHeartbeat,
    Bundle,
    BundleHead,
    Publication,
    PublicationCause,
    PublicationStatus,
    PublicationTarget,
    TargetKind,
)

logger = logging.getLogger(__name__)


def local_target() -> PublicationTarget:
    """Return the target standing for the local bridges (created if missing)."""
    target, _ = PublicationTarget.objects.get_or_create(
        name="local", defaults={"kind": TargetKind.LOCAL, "description": "The bridges that pull the current bundle."}
    )
    return target


def bundle_store(
    *,
    payload_of: Any,
    actor: Any | None,
    cause: PublicationCause,
    reason: str = "",
    version: Any | None = None,
) -> Publication:
    """Store the bundle ``payload_of()`` returns, make it current and record a publication per target.

    Args:
        payload_of: called once the bundle head row is locked, returning the payload
            (``mcp_bridge.bundle_format``). Concurrent publishes are serialised on that lock, so
            the last one to commit has built its payload from every change committed before it.

    Call it inside the transaction that changed what agents are served, after the change.

    The local target's publication succeeds with the commit (local bridges pull the bundle);
    each enabled AgentCore target gets a ``pending`` publication that a worker carries out
    after commit (``tasks.publish_to_target``).

    Returns:
        the local target's new ``Publication``, pointing at a new or re-used ``Bundle``
        (identical content gives the identical sha256 and the same row).
    """
    from mcp_bridge.bundle_format import bundle_sha256, canonical_bytes

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("bundle_store must run inside the transaction that changed what is live")
    head, _ = BundleHead.objects.select_for_update().get_or_create(pk=1)
    payload = payload_of()
    raw = canonical_bytes(payload)
    sha = bundle_sha256(raw)
    bundle, _created = Bundle.objects.get_or_create(
        sha256=sha,
        defaults={"payload": raw.decode("utf-8"), "sop_count": len(payload["sops"]), "size_bytes": len(raw)},
    )
    previous = head.bundle
    head.bundle = bundle
    head.save(update_fields=["bundle", "updated_at"])
    local = local_target()
    publication = Publication.objects.create(
        bundle=bundle, previous_bundle=previous, target=local, cause=cause, version=version, actor=actor, reason=reason
    )
    remote = [
        publication_queue(
            bundle=bundle, target=target, cause=cause, actor=actor, reason=reason, version=version, previous=previous
        )
        for target in PublicationTarget.objects.filter(enabled=True).exclude(kind=TargetKind.LOCAL)
    ]
    audit_record(
        actor=actor,
        action=AuditAction.BUNDLE_PUBLISH,
        target=publication,
        sop_slug=version.sop.slug if version is not None else "",
        before={"bundle_sha256": previous.sha256 if previous else None},
        after={"bundle_sha256": sha},
        reason=reason,
        data={
            "cause": cause,
            "sop_count": bundle.sop_count,
            "targets": {p.target.name: p.pk for p in [publication, *remote]},
        },
    )
    logger.info("bundle %s published (%s, %d SOPs)", sha[:12], cause, bundle.sop_count)
    return publication


def publication_queue(
    *,
    bundle: Bundle,
    target: PublicationTarget,
    cause: PublicationCause,
    actor: Any | None,
    reason: str,
    version: Any | None = None,
    previous: Bundle | None = None,
) -> Publication:
    """Record a ``pending`` publication of ``bundle`` to a remote ``target`` and have a worker
    carry it out once the transaction commits; return it."""
    from apps.core.tasks import enqueue_on_commit

    from .tasks import publish_to_target

    publication = Publication.objects.create(
        bundle=bundle,
        previous_bundle=previous,
        target=target,
        cause=cause,
        version=version,
        actor=actor,
        reason=reason,
        status=PublicationStatus.PENDING,
    )
    enqueue_on_commit(publish_to_target, publication.pk)
    return publication


TARGET_AUDITED_FIELDS = [
    "name",
    "kind",
    "enabled",
    "region",
    "runtime_name",
    "container_image_uri",
    "execution_role_arn",
    "network_mode",
    "vpc_subnets",
    "vpc_security_groups",
    "authorizer",
    "jwt_discovery_url",
    "jwt_allowed_clients",
    "jwt_allowed_audience",
    "s3_bucket",
    "s3_prefix",
    "ssm_arn_parameter",
    "ssm_bundle_parameter",
    "bridge_poll_seconds",
]


@transaction.atomic
def target_save(*, actor: Any, target: PublicationTarget, reason: str = "") -> PublicationTarget:
    """Validate and save a publication target's settings, recording what changed.

    Raises:
        PermissionDenied: ``actor`` may not configure targets.
        InvalidInput: a setting is invalid (``field_errors`` names the fields).
    """
    from django.core.exceptions import ValidationError

    from apps.core.errors import InvalidInput, PermissionDenied

    from .permissions import can_configure_target

    if actor is not None and not can_configure_target(actor):
        raise PermissionDenied("Only admins can configure publication targets.")
    try:
        target.full_clean()
    except ValidationError as exc:
        raise InvalidInput("The target's settings are invalid.", field_errors=exc.message_dict) from exc
    old = PublicationTarget.objects.filter(pk=target.pk).first() if target.pk else None
    before = {f: getattr(old, f) for f in TARGET_AUDITED_FIELDS} if old else None
    target.save()
    after = {f: getattr(target, f) for f in TARGET_AUDITED_FIELDS}
    if before is not None:
        changed = [f for f in TARGET_AUDITED_FIELDS if before[f] != after[f]]
        before = {f: before[f] for f in changed}
        after = {f: after[f] for f in changed}
    audit_record(
        actor=actor,
        action=AuditAction.TARGET_CHANGE,
        target=target,
        before=before,
        after=after,
        reason=reason,
        data={"created": old is None},
    )
    return target


@transaction.atomic
def target_republish(*, actor: Any, target: PublicationTarget, reason: str = "") -> Publication:
    """Publish the current bundle to ``target`` again (after a failure, or to repair drift).

    Returns the new ``pending`` publication; a worker carries it out after commit.

    Raises:
        PermissionDenied: ``actor`` may not deploy.
        InvalidInput: ``target`` is the local bridges (they pull by themselves) or disabled.
        Conflict: nothing has been published yet.
    """
    from apps.core.errors import Conflict, InvalidInput, PermissionDenied

    from .permissions import can_deploy
    from .selectors import current_bundle

    if actor is not None and not can_deploy(actor):
        raise PermissionDenied("Only release managers can publish to a target.")
    if target.kind == TargetKind.LOCAL:
        raise InvalidInput("Local bridges pull the current bundle by themselves; there is nothing to republish.")
    bundle = current_bundle()
    if bundle is None:
        raise Conflict("Nothing has been published yet; publish a version first.")
    previous = (
        Publication.objects.filter(target=target, status=PublicationStatus.SUCCEEDED)
        .select_related("bundle")
        .order_by("-pk")
        .first()
    )
    publication = publication_queue(
        bundle=bundle,
        target=target,
        cause=PublicationCause.REPUBLISH,
        actor=actor,
        reason=reason,
        previous=previous.bundle if previous else None,
    )
    audit_record(
        actor=actor,
        action=AuditAction.BUNDLE_PUBLISH,
        target=publication,
        reason=reason,
        before={"bundle_sha256": previous.bundle.sha256 if previous else None},
        after={"bundle_sha256": bundle.sha256},
        data={"cause": PublicationCause.REPUBLISH, "targets": {target.name: publication.pk}},
    )
    return publication


def bridge_heartbeat_record(
    *,
    bridge_id: str,
    bundle_sha256: str,
    tools_sha256: str,
    bridge_version: str = "",
    started_at: Any = None,
    app_reachable: bool = True,
) -> BridgeHeartbeat:
    """Record that ``bridge_id`` is alive and serves ``bundle_sha256`` with tool descriptions
    hashing to ``tools_sha256`` (one row per bridge, updated in place). Not audited: it is a
    report, not a change; drift is computed from it when read (``selectors.bridge_statuses``).
    """
    from django.utils import timezone

    heartbeat, _ = BridgeHeartbeat.objects.update_or_create(
        bridge_id=bridge_id,
        defaults={
            "bundle_sha256": bundle_sha256,
            "tools_sha256": tools_sha256,
            "bridge_version": bridge_version,
            "started_at": started_at,
            "app_reachable": app_reachable,
            "last_seen_at": timezone.now(),
            "target": local_target(),
        },
    )
    return heartbeat
