"""The release layer: every change to what agents are served.

Publishing a version (with or without a rollout), rolling back, retiring; starting a rollout and
its controls; the system's gate decisions; the bundle each change publishes; outcome signals in.
Services lock the SOP row first, check role and state, change versions through
``sops.services.version_transition`` (the one writer of a version's status), write the audit
events in the same transaction and publish a bundle when what agents are served changes.
"""

from __future__ import annotations

from .bundles import bundle_publish
from .decisions import active_rollout_ids, rollout_evaluate
from .notices import notice_dismiss, notify_automatic_decision
from .outcomes import outcome_report, outcomes_ingest, telemetry_ingest
from .rollouts import (
    ROLLOUT_CONTROLS,
    rollout_abort,
    rollout_advance,
    rollout_complete,
    rollout_pause,
    rollout_resume,
    rollout_start,
)
from .versions import release_publish, release_retire, release_rollback

RELEASE_SERVICES = {"publish": release_publish, "rollback": release_rollback, "retire": release_retire}
"""Release action → service; each takes ``actor``, ``version``, ``reason`` and ``signature``."""

__all__ = [
    "RELEASE_SERVICES",
    "ROLLOUT_CONTROLS",
    "active_rollout_ids",
    "bundle_publish",
    "notice_dismiss",
    "notify_automatic_decision",
    "outcome_report",
    "outcomes_ingest",
    "release_publish",
    "release_retire",
    "release_rollback",
    "rollout_abort",
    "rollout_advance",
    "rollout_complete",
    "rollout_evaluate",
    "rollout_pause",
    "rollout_resume",
    "rollout_start",
    "telemetry_ingest",
]
