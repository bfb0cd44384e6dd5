"""The gate rule: from a rollout's outcome counts to a decision — roll back, pause, wait or advance.

Pure functions over plain data (a rollout's stage snapshot and counts), so that the release
layer's evaluation (``apps.releases.services.decisions``) and the simulation in
``bench/rollout_gates.py`` run exactly the same code. The statistics are in ``statistics``.

α is spent once per rollout: the plan's α (default 0.05) is split evenly (Bonferroni) among the
distinct gates of all its stages; each gate's confidence sequence is time-uniform over the
whole rollout, so checking it after every outcome and in every stage spends nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import statistics

EVENT_OF_METRIC = {"escalation_rate": "escalated", "complaint_rate": "complaint", "error_rate": "error"}
"""The outcome kind each gate metric counts."""

HARM, NON_INFERIOR, NO_HARM, NO_DATA = "harm", "non_inferior", "no_harm", "no_data"
"""A gate's status: harm is clear; shown within the harm line; no evidence of harm yet; nothing to compare."""


@dataclass(frozen=True)
class StageCounts:
    """Outcomes reported during one stage: per version, the total and the count of each kind."""

    candidate: Mapping[str, int]
    stable: Mapping[str, int]

    @staticmethod
    def _total(kinds: Mapping[str, int]) -> int:
        return int(sum(kinds.values()))

    @property
    def candidate_n(self) -> int:
        """Return the candidate's outcomes in the stage."""
        return self._total(self.candidate)

    @property
    def stable_n(self) -> int:
        """Return stable's outcomes in the stage."""
        return self._total(self.stable)


def gate_key(rule: Mapping[str, Any]) -> tuple[str, str, float]:
    """Return what makes two gate rules the same hypothesis: metric, comparison, threshold."""
    return (str(rule["metric"]), str(rule.get("comparison", "absolute")), float(rule["threshold"]))


def distinct_gates(stages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the distinct gate rules over all ``stages``, in order of first appearance."""
    seen: dict[tuple[str, str, float], dict[str, Any]] = {}
    for stage in stages:
        for rule in stage.get("gates", []):
            seen.setdefault(gate_key(rule), dict(rule))
    return list(seen.values())


def alpha_per_gate(alpha: float, stages: Sequence[Mapping[str, Any]]) -> float:
    """Return each gate's share of the rollout's ``alpha`` (Bonferroni over distinct gates)."""
    return alpha / max(1, len(distinct_gates(stages)))


def evaluate_gate(
    rule: Mapping[str, Any],
    strata: Sequence[StageCounts],
    *,
    alpha: float,
    tuning_n: float | None = None,
    forecast: bool = True,
) -> dict[str, Any]:
    """Judge one gate on the rollout's outcomes so far; return the rule with its numbers.

    Shape: ``{metric, comparison, threshold, status, estimate, lower, upper, alpha, boundary,
    candidate: {n, events}, stable: {n, events} | None, outcomes_to_decide}`` where ``status`` is
    ``harm`` / ``non_inferior`` / ``no_harm`` / ``no_data``, ``estimate`` a rate (absolute) or a
    ratio to stable's (relative) with always-valid bounds ``lower``/``upper`` (``None``: not
    bounded yet), and ``outcomes_to_decide`` about how many more outcomes the test needs to call
    it either way at the present estimate (``None``: out of reach; not computed without
    ``forecast``, which the decision does not need). ``tuning_n`` overrides the statistics'
    tuning (``statistics.TUNING_RELATIVE`` / ``TUNING_ABSOLUTE``), for simulations.
    """
    tuning = {} if tuning_n is None else {"tuning_n": tuning_n}
    kind = EVENT_OF_METRIC[str(rule["metric"])]
    relative = rule.get("comparison") == "relative"
    threshold = float(rule["threshold"])
    cand = statistics.Counts(sum(s.candidate_n for s in strata), sum(int(s.candidate.get(kind, 0)) for s in strata))
    stab = statistics.Counts(sum(s.stable_n for s in strata), sum(int(s.stable.get(kind, 0)) for s in strata))
    result: dict[str, Any] = {
        "metric": rule["metric"],
        "comparison": "relative" if relative else "absolute",
        "threshold": threshold,
        "alpha": alpha,
        "candidate": {"n": cand.n, "events": cand.events},
        "stable": {"n": stab.n, "events": stab.events} if relative else None,
    }
    if relative:
        test = statistics.relative_test(
            [
                statistics.Stratum(
                    statistics.Counts(s.candidate_n, int(s.candidate.get(kind, 0))),
                    statistics.Counts(s.stable_n, int(s.stable.get(kind, 0))),
                )
                for s in strata
            ],
            margin=threshold,
            alpha=alpha,
            **tuning,
        )
    else:
        test = statistics.absolute_test(cand, threshold=threshold, alpha=alpha, **tuning)
    if test is None:
        return {
            **result,
            "status": NO_DATA,
            "estimate": None,
            "lower": None,
            "upper": None,
            "boundary": None,
            "outcomes_to_decide": None,
        }
    status = HARM if test.harm else NON_INFERIOR if test.non_inferior else NO_HARM
    return {
        **result,
        "status": status,
        "estimate": test.estimate,
        "lower": test.lower,
        "upper": test.upper,
        "boundary": test.boundary,
        "outcomes_to_decide": statistics.outcomes_to_decide(test) if forecast else None,
    }


@dataclass(frozen=True)
class Decision:
    """What the system does about a rollout now.

    ``kind``: ``rollback`` (a gate shows harm), ``pause`` (sample-ratio mismatch), ``paused``
    (held by a person or an earlier pause: nothing more), ``soaking`` (soak time not over),
    ``waiting`` (too few outcomes, or non-inferiority not shown yet), ``advance`` or
    ``complete`` (the next stage is 100 %). ``reason`` says why in words; ``failing`` lists the
    gates that caused a rollback; ``outcomes_needed`` the candidate outcomes still missing.
    """

    kind: str
    reason: str
    failing: list[dict[str, Any]] = field(default_factory=list)
    outcomes_needed: int = 0


METRIC_LABELS = {"escalation_rate": "escalation rate", "complaint_rate": "complaint rate", "error_rate": "error rate"}


def gate_label(rule: Mapping[str, Any]) -> str:
    """Return a gate rule as people read it, e.g. ``complaint rate ≤ 1.2 × stable's`` or
    ``error rate ≤ 5 %``."""
    metric = METRIC_LABELS.get(str(rule["metric"]), str(rule["metric"]))
    threshold = float(rule["threshold"])
    if rule.get("comparison") == "relative":
        return f"{metric} ≤ {threshold:g} × stable's"
    return f"{metric} ≤ {threshold * 100:g} %"


def describe_gate(result: Mapping[str, Any]) -> str:
    """One line of a gate result, e.g. ``complaint rate ≤ 1 × stable's: 2.41× (1.32×–4.10×),
    harm, 30/620 candidate, 150/6030 stable``."""
    label = gate_label(result)
    if result["status"] == NO_DATA:
        return f"{label}: no outcomes to compare yet"
    relative = result["comparison"] == "relative"

    def fmt(x: float | None) -> str:
        if x is None:
            return "∞" if relative else "?"
        return f"{x:.2f}×" if relative else f"{x * 100:.1f} %"

    estimate = "n/a (stable has no events)" if result["estimate"] is None else fmt(result["estimate"])
    counts = f"{result['candidate']['events']}/{result['candidate']['n']} candidate"
    if result.get("stable"):
        counts += f", {result['stable']['events']}/{result['stable']['n']} stable"
    bounds = f"{fmt(result['lower'])}–{fmt(result['upper'])}"
    return f"{label}: {estimate} ({bounds}), {result['status'].replace('_', ' ')}, {counts}"


def decide(
    *,
    stages: Sequence[Mapping[str, Any]],
    stage_index: int,
    paused: bool,
    gates: Sequence[Mapping[str, Any]],
    sample_ratio: statistics.SampleRatio | None,
    soaked: bool,
    stage_candidate_outcomes: int,
    advance_on: str,
) -> Decision:
    """Decide what to do with a rollout given its current stage's gate results (``evaluate_gate``).

    In order: a gate showing harm rolls back (even a paused rollout: safety is never paused); a
    paused rollout stays; the soak time must be over; the stage needs its minimum candidate
    outcomes and, relative gates, outcomes of stable to compare with; with ``advance_on ==
    "non_inferiority"`` every gate must show the candidate within its harm line; the served split
    must match the stage's percentage, else the rollout pauses and says why; then advance, or
    complete when the next stage is 100 %.

    The split is tested once per stage, when it is otherwise ready to advance, as GrowthBook
    tests it once per analysis: a χ² test repeated after every outcome at p < 0.001 would pause
    5–10 % of healthy rollouts (``bench/rollout_gates.py`` measured it); once per stage it is
    about 0.1 % per stage.
    """
    harmful = [g for g in gates if g["status"] == HARM]
    if harmful:
        return Decision(
            "rollback", "Harm is clear: " + "; ".join(describe_gate(g) for g in harmful), [dict(g) for g in harmful]
        )
    if paused:
        return Decision("paused", "Paused.")
    if not soaked:
        return Decision("soaking", "Soak time not over.")
    stage = stages[stage_index]
    needed = int(stage.get("min_outcomes", 0)) - stage_candidate_outcomes
    if needed > 0:
        return Decision(
            "waiting",
            f"Soak time over; the stage needs {needed} more candidate outcome{'s' if needed != 1 else ''} "
            f"(has {stage_candidate_outcomes} of {stage.get('min_outcomes')}).",
            outcomes_needed=needed,
        )
    empty = [g for g in gates if g["status"] == NO_DATA]
    if empty:
        return Decision("waiting", "Nothing to compare yet: " + "; ".join(describe_gate(g) for g in empty))
    if advance_on == "non_inferiority":
        open_gates = [g for g in gates if g["status"] != NON_INFERIOR]
        if open_gates:
            return Decision(
                "waiting",
                "Non-inferiority not shown yet: " + "; ".join(describe_gate(g) for g in open_gates),
            )
    if sample_ratio is not None and sample_ratio.mismatch:
        observed = sample_ratio.observed_share or 0.0
        return Decision(
            "pause",
            f"Sample-ratio mismatch: {sample_ratio.candidate} of {sample_ratio.candidate + sample_ratio.stable} "
            f"conversations ({observed * 100:.1f} %) were served the candidate in this stage, expected "
            f"{sample_ratio.expected_share * 100:g} % (χ² p = {sample_ratio.p_value:.1e}). Check that every bridge "
            "serves the current bundle and that agents pass a routing key; resume when it is explained.",
        )
    completing = stage_index + 1 >= len(stages) or int(stages[stage_index + 1]["percentage"]) >= 100
    summary = "; ".join(describe_gate(g) for g in gates) if gates else "no gates"
    return Decision("complete" if completing else "advance", f"No evidence of harm: {summary}")
