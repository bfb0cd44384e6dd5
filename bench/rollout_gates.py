"""Error rates of the rollout gates, by simulation through the real gate code.

Rollouts of the default plan (``apps.rollouts.defaults``: 5 → 10 → 50 → 100 %, its soak times,
minimum outcomes and gates) are simulated outcome by outcome and judged by the same functions
the release layer calls on every evaluation — ``apps.rollouts.gates.evaluate_gate`` and
``decide`` — ``--checks-per-hour`` times an hour (default 60; the app re-evaluates after every
telemetry batch, about once a second, and beat every 15 s: more looks cannot raise a
time-uniform test's error rate, only cost simulation time). Each outcome is one conversation: candidate with the stage's
probability, then a complaint, an escalation, an error or resolved. The served split is tested
too (χ² on the simulated conversations), so false sample-ratio pauses are counted.

For base complaint rates of 1 %, 5 % and 10 % (escalations 5 %, errors 1 %, equal for both
versions), it prints:

* the false-rollback rate of an equal candidate (target ≤ 5 % per rollout: the plan's α),
* the share of candidates with twice the complaint rate rolled back before 100 %
  (target ≥ 90 % at the stated traffic),
* the median outcomes needed to catch a 3× candidate (candidate's and all),
* false sample-ratio pauses, and how long rollouts take;

and, with ``--drift``, the false-rollback rate when the base rate doubles over the rollout
(stratification by stage keeps it at α); with ``--tuning``, how the mixture's tuning size
changes the numbers; with ``--baseline``, the same rollouts judged by the rule this replaced.

    python bench/rollout_gates.py [--runs 400] [--seed 1] [--per-hour 1% 1000 5% 200 10% 100]
                                  [--checks-per-hour 60] [--drift] [--tuning 30 1000 5000] [--baseline]

Results: one JSON line per scenario, a table, and ``bench/results/rollout_gates.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.rollouts import gates, statistics  # noqa: E402
from apps.rollouts.defaults import GATES, STAGES  # noqa: E402

KINDS = ("complaint", "escalated", "error", "resolved")
ESCALATION_RATE = 0.05
ERROR_RATE = 0.01
DEFAULT_PER_HOUR = {0.01: 1000.0, 0.05: 200.0, 0.10: 100.0}
"""Outcomes reported per hour (all conversations of the SOP) at which the tables are stated."""


def default_plan() -> list[dict[str, Any]]:
    """The default plan as a rollout snapshots it (``plan_snapshot``), from the same constants."""
    return [
        {
            "percentage": p,
            "min_soak_seconds": soak,
            "min_outcomes": minimum,
            "gates": [{"metric": m, "comparison": c, "threshold": t} for m, c, t in GATES] if p < 100 else [],
        }
        for p, soak, minimum in STAGES
    ]


@dataclass
class Result:
    rolled_back: bool
    srm_pause: bool
    candidate_outcomes: int
    outcomes: int
    hours: float
    stage: int


def previous_rule(stage_counts: list[dict[str, dict[str, int]]], min_samples: int = 50) -> str:
    """The gate rule before the release layer, for comparison: relative gates (complaints,
    escalations) fail when the Laplace-smoothed rate ratio ``((e_c+1)/(n_c+2)) / ((e_s+1)/(n_s+2))``
    exceeds 1.5, the error gate when the candidate's raw rate exceeds 5 %, once the candidate has
    ``min_samples`` outcomes — judged here on the rollout's outcomes so far (it used a one-hour
    window: as many looks, on less data). Return ``rollback``, ``pass`` or ``wait``."""
    cand: dict[str, int] = {}
    stab: dict[str, int] = {}
    for stage in stage_counts:
        for kind, n in stage["candidate"].items():
            cand[kind] = cand.get(kind, 0) + n
        for kind, n in stage["stable"].items():
            stab[kind] = stab.get(kind, 0) + n
    n_c, n_s = sum(cand.values()), sum(stab.values())
    if n_c < min_samples:
        return "wait"
    for kind in ("complaint", "escalated"):
        ratio = ((cand.get(kind, 0) + 1) / (n_c + 2)) / ((stab.get(kind, 0) + 1) / (n_s + 2))
        if ratio > 1.5:
            return "rollback"
    return "rollback" if cand.get("error", 0) / n_c > 0.05 else "pass"


def simulate(
    rng: np.random.Generator,
    stages: list[dict[str, Any]],
    *,
    base: float,
    multiplier: float,
    per_hour: float,
    check_every: int,
    alpha: float = 0.05,
    tuning_n: float | None = None,
    drift: bool = False,
    baseline: bool = False,
) -> Result:
    """Run one rollout to completion or rollback; return what happened.

    With ``drift`` every version's rates grow linearly from ×1 at the start to ×2 at the end of
    the planned soak time (a busier, angrier afternoon), the same for both versions.
    """
    alpha_gate = gates.alpha_per_gate(alpha, stages)
    planned_hours = sum(s["min_soak_seconds"] for s in stages) / 3600
    counts: list[dict[str, dict[str, int]]] = []
    outcomes = cand_total = 0
    hours = 0.0
    srm_paused = False
    for index, stage in enumerate(stages):
        if stage["percentage"] >= 100:
            return Result(False, srm_paused, cand_total, outcomes, hours, index)
        share = stage["percentage"] / 100
        stage_counts: dict[str, dict[str, int]] = {"candidate": {}, "stable": {}}
        counts.append(stage_counts)
        served = {"candidate": 0, "stable": 0}
        flagged = False
        stage_hours = 0.0
        while True:
            scale = 1 + min(hours / planned_hours, 1.0) if drift else 1.0
            probs_stable = np.array([base, ESCALATION_RATE, ERROR_RATE]) * scale
            probs_cand = probs_stable * np.array([multiplier, 1, 1])
            is_candidate = rng.random(check_every) < share
            for side, mask, probs in (("candidate", is_candidate, probs_cand), ("stable", ~is_candidate, probs_stable)):
                n = int(mask.sum())
                if n:
                    drawn = rng.multinomial(n, [*probs, 1 - probs.sum()])
                    for kind, k in zip(KINDS, drawn, strict=True):
                        stage_counts[side][kind] = stage_counts[side].get(kind, 0) + int(k)
                    served[side] += n
            outcomes += check_every
            step = check_every / per_hour
            hours += step
            stage_hours += step
            strata = [gates.StageCounts(candidate=c["candidate"], stable=c["stable"]) for c in counts]
            cand_total = sum(s.candidate_n for s in strata)
            if baseline:
                verdict = previous_rule(counts)
                if verdict == "rollback":
                    return Result(True, srm_paused, cand_total, outcomes, hours, index)
                soaked = stage_hours * 3600 >= stage["min_soak_seconds"]
                if soaked and verdict == "pass":
                    break
                continue
            results = [
                gates.evaluate_gate(g, strata, alpha=alpha_gate, tuning_n=tuning_n, forecast=False)
                for g in stage["gates"]
            ]
            ratio = (
                None
                if flagged
                else statistics.sample_ratio_test(
                    candidate=served["candidate"], stable=served["stable"], expected_share=share
                )
            )
            decision = gates.decide(
                stages=stages,
                stage_index=index,
                paused=False,
                gates=results,
                sample_ratio=ratio,
                soaked=stage_hours * 3600 >= stage["min_soak_seconds"],
                stage_candidate_outcomes=strata[-1].candidate_n,
                advance_on="no_harm",
            )
            if decision.kind == "rollback":
                return Result(True, srm_paused, cand_total, outcomes, hours, index)
            if decision.kind == "pause":  # a false alarm here: counted; a person looks and resumes
                srm_paused = flagged = True
                continue
            if decision.kind in ("advance", "complete"):
                break
    return Result(False, srm_paused, cand_total, outcomes, hours, len(stages) - 1)


def _run_batch(args: tuple[int, dict[str, Any]]) -> list[Result]:
    seed, kwargs = args
    rng = np.random.default_rng(seed)
    runs = kwargs.pop("runs")
    return [simulate(rng, default_plan(), **kwargs) for _ in range(runs)]


def scenario(pool: Any, runs: int, seed: int, workers: int, **kwargs: Any) -> list[Result]:
    """Run ``runs`` rollouts of one scenario split over ``workers`` processes."""
    per = math.ceil(runs / workers)
    batches = [(seed * 1000 + i, {**kwargs, "runs": per}) for i in range(workers)]
    results = [r for batch in pool.map(_run_batch, batches) for r in batch]
    return results[:runs]


def wilson(k: int, n: int) -> tuple[float, float]:
    """95 % Wilson interval of a proportion k/n (Wilson 1927), for the error rates' own noise."""
    if n == 0:
        return (0.0, 1.0)
    z = 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarise(name: str, base: float, multiplier: float, per_hour: float, results: list[Result]) -> dict[str, Any]:
    n = len(results)
    back = [r for r in results if r.rolled_back]
    done = [r for r in results if not r.rolled_back]
    low, high = wilson(len(back), n)
    return {
        "scenario": name,
        "base_complaint_rate": base,
        "candidate_multiplier": multiplier,
        "outcomes_per_hour": per_hour,
        "runs": n,
        "rolled_back": len(back) / n,
        "rolled_back_ci95": [round(low, 4), round(high, 4)],
        "srm_false_pauses": sum(r.srm_pause for r in results) / n,
        "median_candidate_outcomes_at_rollback": float(np.median([r.candidate_outcomes for r in back]))
        if back
        else None,
        "median_outcomes_at_rollback": float(np.median([r.outcomes for r in back])) if back else None,
        "median_hours_at_rollback": round(float(np.median([r.hours for r in back])), 2) if back else None,
        "median_hours_to_complete": round(float(np.median([r.hours for r in done])), 2) if done else None,
        "median_outcomes_to_complete": float(np.median([r.outcomes for r in done])) if done else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=400, help="rollouts per scenario (default 400)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--checks-per-hour", type=float, default=60, help="evaluations an hour (default 60; the app: every second)"
    )
    parser.add_argument("--workers", type=int, default=max(1, min(2, multiprocessing.cpu_count())))
    parser.add_argument("--per-hour", nargs="*", default=[], help="pairs: base%% outcomes/h, e.g. 1%% 2000 5%% 400")
    parser.add_argument("--drift", action="store_true", help="also: equal candidates while the base rate doubles")
    parser.add_argument(
        "--tuning", nargs="*", type=float, default=[], help="also: equal and 2× at 5 %% for these tunings"
    )
    parser.add_argument("--baseline", action="store_true", help="also: the previous rule (Laplace ratio ≤ 1.5) at 5 %%")
    args = parser.parse_args()
    per_hour = dict(DEFAULT_PER_HOUR)
    for base_text, rate in zip(args.per_hour[::2], args.per_hour[1::2], strict=True):
        per_hour[float(base_text.rstrip("%")) / 100] = float(rate)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        for base in sorted(per_hour):
            for name, multiplier in (("equal", 1.0), ("2x", 2.0), ("3x", 3.0)):
                results = scenario(
                    pool,
                    args.runs,
                    args.seed,
                    args.workers,
                    base=base,
                    multiplier=multiplier,
                    per_hour=per_hour[base],
                    check_every=max(1, round(per_hour[base] / args.checks_per_hour)),
                )
                row = summarise(name, base, multiplier, per_hour[base], results)
                rows.append(row)
                print(json.dumps(row), flush=True)
        if args.drift:
            for base in sorted(per_hour):
                results = scenario(
                    pool,
                    args.runs,
                    args.seed + 7,
                    args.workers,
                    base=base,
                    multiplier=1.0,
                    per_hour=per_hour[base],
                    check_every=max(1, round(per_hour[base] / args.checks_per_hour)),
                    drift=True,
                )
                row = summarise("equal, base rate doubling", base, 1.0, per_hour[base], results)
                rows.append(row)
                print(json.dumps(row), flush=True)
        for tuning in args.tuning:
            for name, multiplier in (("equal", 1.0), ("2x", 2.0)):
                results = scenario(
                    pool,
                    args.runs,
                    args.seed + 11,
                    args.workers,
                    base=0.05,
                    multiplier=multiplier,
                    per_hour=per_hour[0.05],
                    check_every=max(1, round(per_hour[0.05] / args.checks_per_hour)),
                    tuning_n=tuning,
                )
                row = summarise(f"{name}, tuning {tuning:g}", 0.05, multiplier, per_hour[0.05], results)
                row["tuning_n"] = tuning
                rows.append(row)
                print(json.dumps(row), flush=True)
        if args.baseline:
            for name, multiplier in (("equal", 1.0), ("2x", 2.0)):
                results = scenario(
                    pool,
                    args.runs,
                    args.seed + 13,
                    args.workers,
                    base=0.05,
                    multiplier=multiplier,
                    per_hour=per_hour[0.05],
                    check_every=max(1, round(per_hour[0.05] / args.checks_per_hour)),
                    baseline=True,
                )
                row = summarise(f"{name}, previous rule", 0.05, multiplier, per_hour[0.05], results)
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(
        f"\n{args.runs} rollouts per scenario, checked {args.checks_per_hour:g} times an hour, "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    print(
        "| base | candidate | outcomes/h | rolled back before 100 % (95 % CI) | false SRM pauses "
        "| median outcomes to catch (candidate / all) | median hours |"
    )
    print("| ---: | --- | ---: | --- | ---: | --- | ---: |")
    for r in rows:
        caught = (
            f"{r['median_candidate_outcomes_at_rollback']:.0f} / {r['median_outcomes_at_rollback']:.0f}"
            if r["median_outcomes_at_rollback"] is not None
            else "—"
        )
        hours = r["median_hours_at_rollback"] if r["candidate_multiplier"] > 1 else r["median_hours_to_complete"]
        low, high = r["rolled_back_ci95"]
        print(
            f"| {r['base_complaint_rate']:.0%} | {r['scenario']} | {r['outcomes_per_hour']:.0f} "
            f"| {r['rolled_back']:.1%} ({low:.1%}–{high:.1%}) | {r['srm_false_pauses']:.1%} | {caught} | {hours} |"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "rollout_gates.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
