"""Reads of categories, SOPs and versions, shaped for the pages and the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from .models import SOP, Category, Review, ReviewDecision, SOPVersion, VersionStatus


def sop_list() -> QuerySet[SOP]:
    """Return SOPs annotated with ``live_number`` (or None) and ``open_versions`` (drafts and
    versions in review or approved), ordered by ``category/key``."""
    live = SOPVersion.objects.filter(sop=OuterRef("pk"), status=VersionStatus.LIVE).values("number")[:1]
    return (
        SOP.objects.select_related("category", "owner")
        .annotate(
            live_number=Subquery(live),
            open_versions=Count(
                "versions",
                filter=Q(versions__status__in=[VersionStatus.DRAFT, VersionStatus.IN_REVIEW, VersionStatus.APPROVED]),
            ),
        )
        .order_by("category__slug", "key")
    )


def sop_get(*, category: str, key: str) -> SOP | None:
    """Return the SOP ``category/key`` or ``None``."""
    return SOP.objects.select_related("category", "owner").filter(category__slug=category, key=key).first()


def live_version(sop: SOP) -> SOPVersion | None:
    """Return the SOP's live version, or ``None`` if nothing is live."""
    return sop.versions.filter(status=VersionStatus.LIVE).first()


def version_list() -> QuerySet[SOPVersion]:
    """Return versions with their SOP, category and author, annotated with ``approval_count``."""
    return SOPVersion.objects.select_related("sop__category", "author").annotate(
        approval_count=Count("reviews", filter=Q(reviews__decision=ReviewDecision.APPROVED))
    )


def version_detail(pk: int) -> SOPVersion | None:
    """Return one version with its SOP, author, reviews (reviewers prefetched) and
    e-signatures, or ``None``."""
    return (
        version_list()
        .prefetch_related(Prefetch("reviews", queryset=Review.objects.select_related("reviewer")), "signatures")
        .filter(pk=pk)
        .first()
    )


def versions_awaiting_review(user: Any) -> QuerySet[SOPVersion]:
    """Return versions in review that ``user`` did not write and has not decided on yet."""
    return (
        version_list()
        .filter(status=VersionStatus.IN_REVIEW)
        .exclude(author=user)
        .exclude(reviews__reviewer=user)
        .order_by("submitted_at")
    )


def versions_reviewed_by(user: Any) -> QuerySet[SOPVersion]:
    """Return versions still in review on which ``user`` recorded a decision (waiting for others)."""
    decided = Review.objects.filter(reviewer=user).values("version_id")
    return version_list().filter(status=VersionStatus.IN_REVIEW, pk__in=decided).order_by("submitted_at")


AUTHORED_RECENT_DAYS = 90
"""How long rejected and withdrawn versions stay on their author's list."""


def authored_versions(user: Any, *, now: Any = None) -> QuerySet[SOPVersion]:
    """Return the versions ``user`` is responsible for as an author, newest change first: their
    own and agents' proposals on SOPs they own, while drafts, in review or approved, and for
    ``AUTHORED_RECENT_DAYS`` after being rejected or withdrawn. Each carries ``approval_count``."""
    since = (now or timezone.now()) - timedelta(days=AUTHORED_RECENT_DAYS)
    open_states = [VersionStatus.DRAFT, VersionStatus.IN_REVIEW, VersionStatus.APPROVED, VersionStatus.CANARY]
    closed_states = [VersionStatus.REJECTED, VersionStatus.WITHDRAWN]
    return (
        version_list()
        .filter(Q(author=user) | Q(sop__owner=user, origin="agent"))
        .filter(Q(status__in=open_states) | Q(status__in=closed_states, updated_at__gte=since))
        .prefetch_related(Prefetch("reviews", queryset=Review.objects.select_related("reviewer")))
        .order_by("-updated_at")
    )


def versions_ready_to_publish() -> QuerySet[SOPVersion]:
    """Return approved versions, oldest approval first."""
    return version_list().filter(status=VersionStatus.APPROVED).order_by("decided_at")


def drafts_of(user: Any) -> QuerySet[SOPVersion]:
    """Return ``user``'s drafts plus agents' proposals on SOPs ``user`` owns, newest first."""
    return (
        version_list()
        .filter(status=VersionStatus.DRAFT)
        .filter(Q(author=user) | Q(sop__owner=user, origin="agent"))
        .order_by("-updated_at")
    )


def category_list() -> QuerySet[Category]:
    """Return categories with ``sop_count``."""
    return Category.objects.annotate(sop_count=Count("sops")).order_by("slug")


REVIEW_SOON_DAYS = 30


def reviews_due(*, within_days: int = REVIEW_SOON_DAYS, owner: Any | None = None) -> QuerySet[SOP]:
    """Return SOPs whose periodic review is overdue or due within ``within_days``, soonest
    first (optionally only ``owner``'s), with category and owner."""
    from datetime import timedelta

    from django.utils import timezone

    due = SOP.objects.filter(review_due_on__lte=timezone.localdate() + timedelta(days=within_days))
    if owner is not None:
        due = due.filter(owner=owner)
    return due.select_related("category", "owner").order_by("review_due_on", "category__slug", "key")


def version_entry(version: SOPVersion) -> dict[str, Any]:
    """Return a version's fields as a bundle carries them (``mcp_bridge.bundle_format``)."""
    return {
        "summary": version.summary,
        "example_questions": list(version.example_questions),
        "version": version.number,
        "version_id": version.pk,
        "content": version.content,
        "content_sha256": version.content_sha256,
    }


def live_payload(stand_in: SOPVersion | None = None) -> dict[str, Any]:
    """Return the bundle payload of every live version (``mcp_bridge.bundle_format``; no canaries)
    — with ``stand_in`` in place of its SOP's live version (or added, when nothing of it is live):
    what would be served if it went live. Two queries; categories appear only with a live SOP."""
    from mcp_bridge.bundle_format import BUNDLE_FORMAT

    versions = list(
        SOPVersion.objects.filter(status=VersionStatus.LIVE)
        .select_related("sop", "sop__category")
        .order_by("sop__category__slug", "sop__key")
    )
    if stand_in is not None:
        versions = [v for v in versions if v.sop_id != stand_in.sop_id] + [stand_in]
        versions.sort(key=lambda v: (v.sop.category.slug, v.sop.key))
    sops: list[dict[str, Any]] = []
    categories: dict[str, dict[str, str]] = {}
    for v in versions:
        category = v.sop.category
        categories.setdefault(
            category.slug, {"slug": category.slug, "name": category.name, "description": category.description}
        )
        sops.append(
            {"category": category.slug, "key": v.sop.key, "title": v.sop.title, "salt": v.sop.salt, **version_entry(v)}
        )
    return {"format": BUNDLE_FORMAT, "categories": list(categories.values()), "sops": sops}
