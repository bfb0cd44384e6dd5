"""The gate rule as plain data: α split over a plan's gates, a gate judged on stage counts, and
the decision order (harm, mismatch, pause, soak, minimum outcomes, non-inferiority, advance)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.rollouts import gates
from apps.rollouts.statistics import SampleRatio

COMPLAINT = {"metric": "complaint_rate", "comparison": "relative", "threshold": 1.0}
ERRORS = {"metric": "error_rate", "comparison": "absolute", "threshold": 0.05}
STAGES = [
    {"percentage": 10, "min_soak_seconds": 60, "min_outcomes": 20, "gates": [COMPLAINT, ERRORS]},
    {"percentage": 50, "min_soak_seconds": 60, "min_outcomes": 20, "gates": [COMPLAINT, ERRORS]},
    {"percentage": 100, "min_soak_seconds": 0, "min_outcomes": 0, "gates": []},
]


def test_alpha__split_over_distinct_gates_of_the_whole_plan() -> None:
    other = {**COMPLAINT, "threshold": 1.2}
    stages = [{**STAGES[0], "gates": [COMPLAINT]}, {**STAGES[1], "gates": [COMPLAINT, ERRORS, other]}]
    assert gates.distinct_gates(stages) == [COMPLAINT, ERRORS, other]
    assert gates.alpha_per_gate(0.06, stages) == pytest.approx(0.02)
    assert gates.alpha_per_gate(0.05, [{"percentage": 100, "gates": []}]) == 0.05


def counts(cand: dict[str, int], stab: dict[str, int]) -> gates.StageCounts:
    return gates.StageCounts(candidate=cand, stable=stab)


def test_evaluate_gate__relative_counts_and_status() -> None:
    strata = [counts({"complaint": 30, "resolved": 70}, {"complaint": 50, "resolved": 950})]
    result = gates.evaluate_gate(COMPLAINT, strata, alpha=0.05)
    assert result["status"] == gates.HARM
    assert (result["candidate"], result["stable"]) == ({"n": 100, "events": 30}, {"n": 1000, "events": 50})
    assert result["estimate"] == pytest.approx(6.0)
    assert gates.describe_gate(result).startswith("complaint rate ≤ 1 × stable's: 6.00× (")


def test_evaluate_gate__no_outcomes__no_data() -> None:
    result = gates.evaluate_gate(ERRORS, [counts({}, {})], alpha=0.05)
    assert result["status"] == gates.NO_DATA
    assert gates.describe_gate(result) == "error rate ≤ 5 %: no outcomes to compare yet"


def decide(results: list[dict[str, Any]], **overrides: Any) -> gates.Decision:
    args: dict[str, Any] = {
        "stages": STAGES,
        "stage_index": 0,
        "paused": False,
        "gates": results,
        "sample_ratio": None,
        "soaked": True,
        "stage_candidate_outcomes": 25,
        "advance_on": "no_harm",
    }
    args.update(overrides)
    return gates.decide(**args)


def gate(status: str) -> dict[str, Any]:
    return {
        **COMPLAINT,
        "status": status,
        "estimate": 1.0,
        "lower": 0.5,
        "upper": 2.0,
        "candidate": {"n": 25, "events": 1},
        "stable": {"n": 200, "events": 8},
    }


MISMATCH = SampleRatio(candidate=90, stable=410, expected_share=0.1, p_value=1e-9)


def test_decide__order_of_rules() -> None:
    assert decide([gate("harm")], paused=True, soaked=False).kind == "rollback"
    assert decide([gate("no_harm")], sample_ratio=MISMATCH, paused=True).kind == "paused"
    assert decide([gate("no_harm")], soaked=False).kind == "soaking"
    # the split is judged when the stage is otherwise ready to advance
    assert decide([gate("no_harm")], sample_ratio=MISMATCH, soaked=False).kind == "soaking"
    assert decide([gate("no_harm")], sample_ratio=MISMATCH, stage_candidate_outcomes=12).kind == "waiting"
    assert decide([gate("no_harm")], sample_ratio=MISMATCH).kind == "pause"
    waiting = decide([gate("no_harm")], stage_candidate_outcomes=12)
    assert (waiting.kind, waiting.outcomes_needed) == ("waiting", 8)
    assert decide([gate("no_data")]).kind == "waiting"
    assert decide([gate("no_harm")], advance_on="non_inferiority").kind == "waiting"
    assert decide([gate("non_inferior")], advance_on="non_inferiority").kind == "advance"
    assert decide([gate("no_harm")]).kind == "advance"
    assert decide([gate("no_harm")], stage_index=1).kind == "complete"


def test_decide__mismatch_reason_says_what_to_check() -> None:
    reason = decide([gate("no_harm")], sample_ratio=MISMATCH).reason
    assert "90 of 500 conversations (18.0 %)" in reason and "expected 10 %" in reason and "routing key" in reason


def test_gate_label() -> None:
    assert gates.gate_label(COMPLAINT) == "complaint rate ≤ 1 × stable's"
    assert gates.gate_label(ERRORS) == "error rate ≤ 5 %"
