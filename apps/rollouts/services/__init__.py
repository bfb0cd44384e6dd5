"""Every write to rollouts and outcomes: start, advance, pause, resume, abort, complete, the
automatic decisions, and recording outcome signals.

Each control locks the SOP row, then the rollout; checks the role (``apps.sops.permissions``) and
the state; changes the versions and the rollout; writes the audit event in the same transaction
— by the person, or by the system (``actor=None``) for automatic decisions, with the numbers
that caused them — and publishes a bundle whenever what agents are served changes.
"""

from __future__ import annotations

from .controls import (
    ROLLOUT_CONTROLS,
    rollout_abort,
    rollout_advance,
    rollout_complete,
    rollout_pause,
    rollout_resume,
    rollout_start,
)
from .evaluation import active_rollout_ids, rollout_evaluate
from .outcomes import MAX_OUTCOMES_PER_BATCH, outcome_report, outcomes_record, served_version
from .plans import plan_snapshot, rollout_plan_record_change, rollout_plan_save

__all__ = [
    "MAX_OUTCOMES_PER_BATCH",
    "ROLLOUT_CONTROLS",
    "active_rollout_ids",
    "outcome_report",
    "outcomes_record",
    "plan_snapshot",
    "rollout_abort",
    "rollout_advance",
    "rollout_complete",
    "rollout_evaluate",
    "rollout_pause",
    "rollout_plan_record_change",
    "rollout_plan_save",
    "rollout_resume",
    "rollout_start",
    "served_version",
]
