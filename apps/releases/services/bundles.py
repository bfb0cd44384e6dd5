"""Bundle build and publication: what agents are served, as one content-addressed snapshot."""

from __future__ import annotations

from typing import Any

from apps.publishing.models import Publication, PublicationCause
from apps.publishing.services import bundle_store

from ..selectors import served_payload


def bundle_publish(
    *, actor: Any | None, cause: PublicationCause, reason: str = "", version: Any | None = None
) -> Publication:
    """Build the bundle of what agents are served now and publish it to every target; return the
    local target's publication (``publishing.services.bundle_store``).

    Call it inside the transaction that changed which versions are live or canary, after the change.
    """
    return bundle_store(payload_of=served_payload, actor=actor, cause=cause, reason=reason, version=version)
