"""Reads of bundles and publications."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.sops.models import SOPVersion, VersionStatus

from .models import Bundle, BundleHead, Publication


def bundle_payload_from_live_versions() -> dict[str, Any]:
    """Return the bundle payload (``mcp_bridge.bundle_format``) for the versions live now.

    Runs two queries; categories appear only when at least one of their SOPs is live.
    """
    from apps.rollouts.models import ACTIVE_STATES, Rollout
    from mcp_bridge.bundle_format import BUNDLE_FORMAT

    versions = (
        SOPVersion.objects.filter(status=VersionStatus.LIVE)
        .select_related("sop", "sop__category")
        .order_by("sop__category__slug", "sop__key")
    )
    rollouts = {
        r.sop_id: r for r in Rollout.objects.filter(state__in=ACTIVE_STATES).select_related("candidate_version")
    }
    sops: list[dict[str, Any]] = []
    categories: dict[str, dict[str, str]] = {}
    for v in versions:
        category = v.sop.category
        categories.setdefault(
            category.slug, {"slug": category.slug, "name": category.name, "description": category.description}
        )
        entry = {
            "category": category.slug,
            "key": v.sop.key,
            "title": v.sop.title,
            "salt": v.sop.salt,
            **_version_fields(v),
        }
        rollout = rollouts.get(v.sop_id)
        if rollout is not None:
            entry["canary"] = {**_version_fields(rollout.candidate_version), "percentage": rollout.percentage}
        sops.append(entry)
    return {"format": BUNDLE_FORMAT, "categories": list(categories.values()), "sops": sops}


def _version_fields(v: SOPVersion) -> dict[str, Any]:
    return {
        "summary": v.summary,
        "example_questions": list(v.example_questions),
        "version": v.number,
        "version_id": v.pk,
        "content": v.content,
        "content_sha256": v.content_sha256,
    }


def current_bundle_sha256() -> str | None:
    """Return the current bundle's sha256, or ``None`` before the first publication (one query)."""
    return BundleHead.objects.filter(pk=1).values_list("bundle__sha256", flat=True).first()


def current_bundle() -> Bundle | None:
    """Return the current bundle, or ``None`` before the first publication."""
    head = BundleHead.objects.select_related("bundle").filter(pk=1).first()
    return head.bundle if head else None


def publication_list() -> QuerySet[Publication]:
    """Return publications, newest first, with their bundle, version and actor."""
    return Publication.objects.select_related("bundle", "previous_bundle", "version__sop__category", "actor")
