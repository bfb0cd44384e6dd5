"""Writes that belong to rollouts themselves: plans and their audited edits, and recording
outcome signals. Changing a rollout — start, the controls, the system's gate decisions — is a
release decision and lives in ``apps.releases``.
"""

from __future__ import annotations

from .outcomes import MAX_OUTCOMES_PER_BATCH, OutcomesRecorded, outcome_report, outcomes_record, served_version
from .plans import PLAN_FIELDS, plan_snapshot, plan_state, rollout_plan_record_change, rollout_plan_save

__all__ = [
    "MAX_OUTCOMES_PER_BATCH",
    "PLAN_FIELDS",
    "OutcomesRecorded",
    "outcome_report",
    "outcomes_record",
    "plan_snapshot",
    "plan_state",
    "rollout_plan_record_change",
    "rollout_plan_save",
    "served_version",
]
