"""Carrying out a publication on a remote (AgentCore) target: upload the bundle to S3 under its
hash, then move the SSM pointer the bridge on AgentCore reads.

Ordered per target: the pointer only ever moves forward. A publication that finds a newer one
for its target (already done, or on its way) ends ``superseded`` instead of moving the pointer
back. Claiming is atomic, so a re-delivered task or a second worker does not publish twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record

from . import agentcore
from .models import Publication, PublicationStatus, PublicationTarget

logger = logging.getLogger(__name__)


def _stale_after() -> timedelta:
    """A publication pending or in progress for longer than this lost its worker."""
    return timedelta(seconds=settings.SOPGOV_PUBLICATION_STALE_SECONDS)


def _claim(publication_id: int) -> Publication | None:
    """Mark the publication in progress if it is pending (or stuck in progress); return it, or
    ``None`` when another worker holds it or it has ended."""
    now = timezone.now()
    claimed = (
        Publication.objects.filter(pk=publication_id)
        .filter(
            Q(status=PublicationStatus.PENDING)
            | Q(status=PublicationStatus.IN_PROGRESS, started_at__lt=now - _stale_after())
        )
        .update(status=PublicationStatus.IN_PROGRESS, started_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return Publication.objects.select_related("bundle", "target", "version__sop__category").get(pk=publication_id)


def _finish(publication: Publication, status: PublicationStatus, **fields: object) -> None:
    """End ``publication`` with ``status`` and the given fields, and audit what the target now
    serves (the system acted: a worker carried out the publication)."""
    with transaction.atomic():
        for name, value in fields.items():
            setattr(publication, name, value)
        publication.status = status
        publication.finished_at = timezone.now()
        publication.save(update_fields=["status", "finished_at", *fields])
        _audit_finish(publication)


def _audit_finish(publication: Publication) -> None:
    audit_record(
        actor=None,
        action=AuditAction.PUBLICATION_FINISH,
        target=publication,
        sop_slug=publication.version.sop.slug if publication.version is not None else "",
        before={"status": PublicationStatus.IN_PROGRESS},
        after={"status": publication.status},
        reason=publication.error,
        data={
            "target": publication.target.name,
            "bundle_sha256": publication.bundle.sha256,
            "cause": publication.cause,
            "attempts": publication.attempts,
            "s3_key": publication.s3_key,
            "s3_version_id": publication.s3_version_id,
            "ssm_parameter_version": publication.ssm_parameter_version,
            "runtime_arn": publication.runtime_arn,
            "runtime_version": publication.runtime_version,
        },
    )


def publication_carry_out(publication_id: int) -> str:
    """Publish the bundle of ``publication_id`` to its AgentCore target; return its final status.

    Raises:
        agentcore.AwsError: a retryable AWS error (throttling, conflict …); the publication is
            back to ``pending`` for the retry. Non-retryable errors end it ``failed`` with the
            AWS code and message instead.
    """
    publication = _claim(publication_id)
    if publication is None:
        return "not claimed"
    target = publication.target
    missing = agentcore.missing_settings(target, for_runtime=False)
    if missing:
        _finish(publication, PublicationStatus.FAILED, error=f"The target lacks settings: {', '.join(missing)}.")
        return PublicationStatus.FAILED
    if _newer_exists(publication):
        _finish(publication, PublicationStatus.SUPERSEDED)
        return PublicationStatus.SUPERSEDED
    uploaded: dict[str, str] = {}  # kept on a failed publication too: the object is in S3
    try:
        c = agentcore.clients(target)
        key, version_id = agentcore.upload_bundle(
            c, target, publication.bundle.sha256, publication.bundle.payload.encode("utf-8")
        )
        uploaded = {"s3_key": key, "s3_version_id": version_id}
        with transaction.atomic():
            # One pointer move at a time per target, and never backwards.
            locked = PublicationTarget.objects.select_for_update().get(pk=target.pk)
            if _newer_exists(publication, moved_only=True):
                _finish(publication, PublicationStatus.SUPERSEDED, s3_key=key, s3_version_id=version_id)
                return PublicationStatus.SUPERSEDED
            ssm_version = agentcore.point_bundle_parameter(
                c, locked, key=key, version_id=version_id, sha256=publication.bundle.sha256
            )
            _finish(
                publication,
                PublicationStatus.SUCCEEDED,
                s3_key=key,
                s3_version_id=version_id,
                ssm_parameter_version=ssm_version,
                runtime_id=locked.runtime_id,
                runtime_arn=locked.runtime_arn,
                runtime_version=locked.runtime_version,
                error="",
            )
    except agentcore.AwsError as exc:
        if exc.retryable:
            Publication.objects.filter(pk=publication.pk).update(status=PublicationStatus.PENDING, error=str(exc))
            raise
        _finish(publication, PublicationStatus.FAILED, error=str(exc), **uploaded)
        logger.error("publication %s to %s failed: %s", publication.pk, target.name, exc)
        return PublicationStatus.FAILED
    logger.info("bundle %s published to %s (SSM v%s)", publication.bundle.sha256[:12], target.name, ssm_version)
    return PublicationStatus.SUCCEEDED


def publication_give_up(publication_id: int, error: str) -> None:
    """End a publication ``failed`` after its retries ran out, keeping the last error (audited)."""
    with transaction.atomic():
        publication = (
            Publication.objects.select_for_update()
            .select_related("bundle", "target", "version__sop__category")
            .filter(pk=publication_id)
            .exclude(status__in=[PublicationStatus.SUCCEEDED, PublicationStatus.SUPERSEDED, PublicationStatus.FAILED])
            .first()
        )
        if publication is not None:
            _finish(publication, PublicationStatus.FAILED, error=error)


def _newer_exists(publication: Publication, moved_only: bool = False) -> bool:
    """Return whether a newer publication to the same target has moved the pointer (or, unless
    ``moved_only``, is still to run: it will publish a newer bundle)."""
    newer = Publication.objects.filter(target=publication.target, pk__gt=publication.pk)
    statuses = [PublicationStatus.SUCCEEDED]
    if not moved_only:
        statuses += [PublicationStatus.PENDING, PublicationStatus.IN_PROGRESS]
    return newer.filter(status__in=statuses).exists()


def stale_publication_ids() -> list[int]:
    """Return publications a dead worker left pending or in progress for longer than ``SOPGOV_PUBLICATION_STALE_SECONDS``."""
    before = timezone.now() - _stale_after()
    return list(
        Publication.objects.filter(
            Q(status=PublicationStatus.PENDING, created_at__lt=before)
            | Q(status=PublicationStatus.IN_PROGRESS, started_at__lt=before)
        ).values_list("pk", flat=True)
    )
