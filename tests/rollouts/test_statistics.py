"""The always-valid tests behind the gates, and the sample-ratio check, on known numbers.

The error rates of the whole gate rule under repeated checking are simulated in
``bench/rollout_gates.py``; here each function's properties are checked directly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from apps.rollouts.statistics import (
    Counts,
    Stratum,
    absolute_test,
    boundary,
    mixture_rho,
    outcomes_to_decide,
    relative_test,
    sample_ratio_test,
)


def test_boundary__above_the_fixed_sample_z_and_grows_slowly() -> None:
    # A confidence sequence pays for being valid at every N: wider than the one-shot z.
    z = stats.norm.ppf(1 - 0.05)
    values = [boundary(n, 0.05, 100) for n in (20, 100, 1000, 10_000, 100_000)]
    assert all(v > z for v in values)
    assert values[-1] < 4.5  # …but only by a log-log factor


def test_boundary__solves_the_mixture_equation() -> None:
    # M_N(b) = 1/α at the boundary: check against a direct numerical integral of the mixture
    n, alpha = 500, 0.01
    rho = mixture_rho(alpha, 100)
    b = boundary(n, alpha, 100) * math.sqrt(n)
    lam = np.linspace(0, 20 / rho, 200_001)
    density = 2 * stats.norm.pdf(lam, scale=rho)
    mixture = np.trapezoid(np.exp(lam * b - lam**2 * n / 2) * density, lam)
    assert mixture == pytest.approx(1 / alpha, rel=1e-3)


def test_boundary__invalid_arguments() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        boundary(0, 0.05, 100)
    with pytest.raises(ValueError, match="alpha must be"):
        mixture_rho(1.5, 100)


def test_time_uniform__equal_rates_rarely_ever_cross_under_continuous_peeking() -> None:
    # 400 simulated candidates as good as stable (5 %), checked after every 10 outcomes up to
    # 4,000: the share that ever shows harm stays below α (the time-uniform guarantee).
    rng = np.random.default_rng(7)
    crossed = 0
    for _ in range(400):
        cand = rng.random(4000) < 0.05
        stab = rng.random(4000) < 0.05
        for n in range(40, 4001, 10):
            t = relative_test(
                [Stratum(Counts(n, int(cand[:n].sum())), Counts(n, int(stab[:n].sum())))], margin=1.0, alpha=0.05
            )
            if t is not None and t.harm:
                crossed += 1
                break
    assert crossed / 400 <= 0.05


def test_relative__clear_harm_and_fieller_bounds_agree_with_the_decision() -> None:
    t = relative_test([Stratum(Counts(400, 60), Counts(4000, 200))], margin=1.0, alpha=0.05)
    assert t is not None
    assert (t.harm, t.non_inferior) == (True, False)
    assert t.estimate == pytest.approx(3.0)
    assert t.lower is not None and 1.0 < t.lower < 3.0 < t.upper
    # The lower bound is the margin at which the decision flips
    at_bound = relative_test([Stratum(Counts(400, 60), Counts(4000, 200))], margin=t.lower * 0.999, alpha=0.05)
    past_bound = relative_test([Stratum(Counts(400, 60), Counts(4000, 200))], margin=t.lower * 1.001, alpha=0.05)
    assert at_bound.harm and not past_bound.harm


def test_relative__stratified_by_stage__no_simpson_paradox() -> None:
    # Equal versions in each stage; the base rate doubles from stage 1 to stage 2 while the
    # candidate's share grows. Pooled, the candidate would look worse; stratified it does not.
    strata = [Stratum(Counts(100, 3), Counts(1900, 57)), Stratum(Counts(5000, 300), Counts(5000, 300))]
    t = relative_test(strata, margin=1.0, alpha=0.05)
    assert t.estimate == pytest.approx(1.0)
    assert not t.harm
    pooled = (303 / 5100) / (357 / 6900)
    assert pooled > 1.1


def test_relative__zero_events_on_both_sides__no_decision_no_division_by_zero() -> None:
    t = relative_test([Stratum(Counts(30, 0), Counts(300, 0))], margin=1.0, alpha=0.05)
    assert (t.estimate, t.harm, t.non_inferior, t.upper) == (None, False, False, None)
    assert t.lower == 0.0


def test_relative__no_stratum_with_both_sides__none() -> None:
    assert relative_test([Stratum(Counts(10, 1), Counts(0, 0))], margin=1.0, alpha=0.05) is None


def test_absolute__bounds_and_decisions() -> None:
    harmful = absolute_test(Counts(200, 40), threshold=0.05, alpha=0.05)
    assert harmful.harm and 0.05 < harmful.lower < 0.2 < harmful.upper
    fine = absolute_test(Counts(2000, 20), threshold=0.05, alpha=0.05)
    assert fine.non_inferior and not fine.harm
    assert absolute_test(Counts(0, 0), threshold=0.05, alpha=0.05) is None


@given(
    n=st.integers(min_value=1, max_value=5000),
    events=st.integers(min_value=0, max_value=5000),
    threshold=st.floats(min_value=0.0, max_value=1.0),
)
def test_absolute__never_both_harm_and_non_inferior(n: int, events: int, threshold: float) -> None:
    t = absolute_test(Counts(n, min(n, events)), threshold=threshold, alpha=0.05)
    assert not (t.harm and t.non_inferior)
    assert 0.0 <= t.lower <= t.estimate <= t.upper <= 1.0


def test_outcomes_to_decide__shrinks_as_evidence_grows() -> None:
    early = relative_test([Stratum(Counts(100, 10), Counts(1000, 50))], margin=1.0, alpha=0.05)
    later = relative_test([Stratum(Counts(800, 80), Counts(8000, 400))], margin=1.0, alpha=0.05)
    assert not early.harm
    need = outcomes_to_decide(early)
    assert need is not None and need > 0
    assert later.harm and outcomes_to_decide(later) == 0
    # An estimate exactly on the line can never be decided
    level = relative_test([Stratum(Counts(100, 5), Counts(1000, 50))], margin=1.0, alpha=0.05)
    assert outcomes_to_decide(level) is None


def test_sample_ratio__chi_squared_as_scipy() -> None:
    ok = sample_ratio_test(candidate=48, stable=452, expected_share=0.1)
    assert ok.p_value == pytest.approx(stats.chisquare([48, 452], [50, 450]).pvalue)
    assert not ok.mismatch
    bad = sample_ratio_test(candidate=90, stable=410, expected_share=0.1)
    assert bad.mismatch and bad.p_value < 0.001
    assert bad.observed_share == pytest.approx(0.18)


def test_sample_ratio__too_few_expected__not_tested() -> None:
    r = sample_ratio_test(candidate=3, stable=40, expected_share=0.05)
    assert (r.p_value, r.mismatch) == (None, False)
