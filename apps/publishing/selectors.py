"""Reads of bundles and publications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from .models import (
    BridgeHeartbeat,
    Bundle,
    BundleHead,
    Deployment,
    Publication,
    PublicationStatus,
    PublicationTarget,
    TargetKind,
)


def current_bundle_sha256() -> str | None:
    """Return the current bundle's sha256, or ``None`` before the first publication (one query)."""
    return BundleHead.objects.filter(pk=1).values_list("bundle__sha256", flat=True).first()


def current_bundle() -> Bundle | None:
    """Return the current bundle, or ``None`` before the first publication."""
    head = BundleHead.objects.select_related("bundle").filter(pk=1).first()
    return head.bundle if head else None


def publication_list() -> QuerySet[Publication]:
    """Return publications, newest first, with their bundle, version and actor."""
    return Publication.objects.select_related("bundle", "previous_bundle", "version__sop__category", "actor", "target")


BRIDGE_OFFLINE_AFTER = timedelta(seconds=60)
"""A bridge silent for longer than this is shown offline (it heartbeats every 10 s by default)."""


@dataclass(frozen=True)
class BridgeStatus:
    """One bridge as the UI shows it: what it serves and how that differs from what it should.

    ``bundle_drift``: it serves a bundle other than the current one. ``tools_drift``: its tool
    descriptions hash differently from those of this release's bridge (an old or modified
    bridge). ``online``: heard from within ``BRIDGE_OFFLINE_AFTER``.
    """

    heartbeat: BridgeHeartbeat
    online: bool
    bundle_drift: bool
    tools_drift: bool

    @property
    def drift(self) -> bool:
        return self.bundle_drift or self.tools_drift


def bridge_statuses(now: datetime | None = None) -> list[BridgeStatus]:
    """Return every bridge that ever reported, with its drift flags (two queries)."""
    from mcp_bridge.manifest import expected_tools_sha256

    now = now or timezone.now()
    current = current_bundle_sha256()
    expected_tools = expected_tools_sha256()
    return [
        BridgeStatus(
            heartbeat=h,
            online=now - h.last_seen_at <= BRIDGE_OFFLINE_AFTER,
            bundle_drift=h.bundle_sha256 != (current or ""),
            tools_drift=h.tools_sha256 != expected_tools,
        )
        for h in BridgeHeartbeat.objects.order_by("bridge_id")
    ]


def target_list() -> QuerySet[PublicationTarget]:
    """Return the publication targets, local first."""
    return PublicationTarget.objects.order_by("-kind", "name")


def deployment_list() -> QuerySet[Deployment]:
    """Return deployments, newest first, with their target and requester."""
    return Deployment.objects.select_related("target", "requested_by")


def target_summary(target: PublicationTarget) -> dict[str, Any]:
    """Return what an operator wants to know about a target at a glance (a few queries):
    ``{"current_bundle", "published_bundle", "in_sync", "last_publication", "pending", "failed",
    "deployment"}`` where ``published_bundle`` is the sha256 its last successful publication made
    current, ``in_sync`` whether that is the current bundle, and ``deployment`` the latest one."""
    current = current_bundle_sha256()
    publications = Publication.objects.filter(target=target).select_related("bundle")
    last_ok = publications.filter(status=PublicationStatus.SUCCEEDED).order_by("-pk").first()
    published = last_ok.bundle.sha256 if last_ok else None
    if target.kind == TargetKind.LOCAL:
        published = current
    return {
        "current_bundle": current,
        "published_bundle": published,
        "in_sync": current is not None and published == current,
        "last_publication": publications.order_by("-pk").first(),
        "pending": publications.filter(status__in=[PublicationStatus.PENDING, PublicationStatus.IN_PROGRESS]).count(),
        "failed": publications.filter(status=PublicationStatus.FAILED).count(),
        "deployment": Deployment.objects.filter(target=target).order_by("-pk").first(),
    }


@dataclass(frozen=True)
class ServedAt:
    """What agents were served for one SOP at one moment, from the bundle current then.

    ``stable``/``canary`` are the bundle's entries (``version``, ``version_id``,
    ``content_sha256`` …; ``canary`` has ``percentage``) or ``None``; ``since``/``until`` bound
    the bundle's time as the current one (``until`` ``None``: still current).
    """

    at: datetime
    bundle_sha256: str
    since: datetime
    until: datetime | None
    publication_id: int
    salt: str
    stable: dict[str, Any] | None
    canary: dict[str, Any] | None


def served_at(sop_slug: str, at: datetime) -> ServedAt | None:
    """Return what the bundle current at ``at`` served for ``sop_slug`` (``category/key``), or
    ``None`` if nothing had been published yet. Two indexed queries and one bundle parse."""
    import json

    local = Publication.objects.filter(target__kind=TargetKind.LOCAL).select_related("bundle")
    publication = local.filter(created_at__lte=at).order_by("-created_at", "-id").first()
    if publication is None:
        return None
    following = local.filter(created_at__gt=publication.created_at).order_by("created_at", "id").first()
    category, _, key = sop_slug.partition("/")
    entry = next(
        (s for s in json.loads(publication.bundle.payload)["sops"] if s["category"] == category and s["key"] == key),
        None,
    )
    stable = {k: v for k, v in entry.items() if k not in ("canary", "content")} if entry else None
    canary = {k: v for k, v in entry["canary"].items() if k != "content"} if entry and entry.get("canary") else None
    return ServedAt(
        at=at,
        bundle_sha256=publication.bundle.sha256,
        since=publication.created_at,
        until=following.created_at if following else None,
        publication_id=publication.pk,
        salt=entry.get("salt", "") if entry else "",
        stable=stable,
        canary=canary,
    )
