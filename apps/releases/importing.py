"""Importing a library and publishing it: review by ``sops.importing``, release here, one bundle."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.publishing.models import PublicationCause
from apps.signatures.services import signature_for_import
from apps.sops.importing import ImportResult, library_stage

from .services import bundle_publish, release_publish


@transaction.atomic
def library_import(
    *,
    rows: list[tuple[int, Any]],
    author: Any,
    publish: bool = False,
    approvers: list[Any] | None = None,
    publisher: Any | None = None,
    attested_by: str = "library import",
) -> ImportResult:
    """Import the rows (``sops.importing.library_stage``), all or nothing; with ``publish``, each
    new version is approved by ``approvers``, published at once by ``publisher`` (a release
    manager) — or by the system on the operator's command when ``publisher`` is None — and one
    bundle is published for the whole import. Signatures are recorded with method ``import``,
    attested by ``attested_by``. Audited ``library.import`` with the counts. Return what happened.

    Raises:
        InvalidInput / ApplicationError: as ``library_stage`` and ``release_publish``; nothing is kept.
    """
    result = library_stage(rows=rows, author=author, approve=publish, approvers=approvers, attested_by=attested_by)
    for version in result.approved:
        signature = (
            signature_for_import(signer=publisher, action="publish", attested_by=attested_by) if publisher else None
        )
        release_publish(
            actor=publisher, version=version, reason="Imported library", build_bundle=False, signature=signature
        )
        result.published += 1
    if result.published:
        publication = bundle_publish(actor=publisher, cause=PublicationCause.IMPORT, reason="Imported library")
        result.bundle_sha256 = publication.bundle.sha256
    audit_record(
        actor=author,
        action=AuditAction.LIBRARY_IMPORT,
        target=author,
        after={
            "sops_created": result.sops_created,
            "versions_created": result.versions_created,
            "unchanged": result.unchanged,
            "published": result.published,
        },
        reason="Library import",
        data={"bundle_sha256": result.bundle_sha256, "rows": len(rows)},
    )
    return result
