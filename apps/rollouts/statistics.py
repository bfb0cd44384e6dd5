"""Always-valid statistics for rollout gates, and the sample-ratio-mismatch check.

Pure functions over counts (numpy and scipy, no Django): the gate code in ``selectors`` feeds
them the outcomes it reads, ``bench/rollout_gates.py`` feeds them simulated ones.

The problem they solve: a gate is checked every time outcomes arrive. A fixed-sample test
(a z-test, a confidence interval at 95 %) checked again and again will sooner or later cross
its threshold by chance — "peeking" — so an equal candidate gets rolled back. A *confidence
sequence* is valid at every moment at once: the chance that it ever excludes the true value,
however often it is looked at, is at most α. Decisions read off it keep their error rates.

Method
------
Each gate is a one-sided test of a linear contrast θ of outcome rates (``p`` = share of a
version's outcomes that are complaints, escalations or errors):

* relative gate, harm line ``m``: θ = p_candidate − m · p_stable. Harm is θ > 0 (the candidate's
  rate clearly exceeds ``m`` times stable's);
* absolute gate, harm line ``t``: θ = p_candidate − t.

θ is estimated stratified by rollout stage — within a stage the split between candidate and
stable is fixed; pooling stages with different splits would compare different periods
(Simpson's paradox) — with Cochran–Mantel–Haenszel weights ``w_k = n_ck·n_sk / (n_ck + n_sk)``.
Its variance is the weighted sum of the strata's binomial variances, each rate smoothed as
``(events + 1) / (n + 2)`` *in the variance only* (after Agresti & Caffo 2000), so that zero
events never give a zero standard error. The point estimate is not smoothed.

The boundary is the one-sided normal-mixture boundary (Robbins 1970; Howard, Ramdas,
McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences",
Ann. Statist. 49(2), §3 and Proposition 6) applied to the standardised sum
``S_N = √N (θ̂ − θ) / SE``, as in the asymptotic confidence sequences of Waudby-Smith, Arbour,
Sinha, Kennedy & Ramdas (2023, "Time-uniform central limit theory and asymptotic confidence
sequences", eq. (9) for the two-sided form) that GrowthBook's sequential testing uses. Mixing
over λ ≥ 0 with a half-normal of scale ρ, the mixture martingale is

    M_N(s) = 2 / √(1 + Nρ²) · exp(ρ² s² / (2 (1 + Nρ²))) · Φ(ρ s / √(1 + Nρ²)),

and by Ville's inequality P(∃N: M_N(S_N) ≥ 1/α) ≤ α. The boundary ``b_N`` solves
``M_N(b_N) = 1/α`` (``scipy.optimize.brentq``); in standard errors it is ``c_N = b_N / √N``.
So ``θ̂ − c_N·SE`` is a lower confidence bound valid at all N simultaneously, and ``θ̂ + c_N·SE``
an upper one. ρ makes the boundary tightest near ``tuning_n`` outcomes, with GrowthBook's
choice ρ = √((−2 ln α + ln(−2 ln α + 1)) / tuning_n) (Waudby-Smith et al. 2023, appendix);
``TUNING_RELATIVE`` and ``TUNING_ABSOLUTE`` say where.

Decisions: *harm* when the lower bound of θ is above 0; *non-inferior* (within the harm line)
when the upper bound is below 0; neither before the candidate has ``MIN_CANDIDATE_OUTCOMES``. The guarantee is asymptotic (a CLT for the running estimate);
``bench/rollout_gates.py`` measures the error rates it gives at the sample sizes gates see.

The sample-ratio-mismatch check is Pearson's χ² goodness-of-fit test of the conversations
served each version against the stage's split, flagged below p = 0.001 as GrowthBook does
(Fabijan et al. 2019, "Diagnosing sample ratio mismatch in online controlled experiments",
KDD). ``gates.decide`` applies it once per stage, when the stage is due to advance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize, special

TUNING_RELATIVE = 1000
"""Outcomes of both versions at which a relative gate's boundary is tightest."""

TUNING_ABSOLUTE = 100
"""Candidate outcomes at which an absolute gate's boundary is tightest.

Both put the tightest point near 100 candidate outcomes at a 10 % stage, where canary gates
decide: a relative gate's time is all outcomes (candidate and stable), an absolute gate's the
candidate's. GrowthBook's default of 5,000 suits long experiments; here it would need 13
standard errors at 20 candidate outcomes. ``bench/rollout_gates.py --tuning`` compares choices:
at a 5 % base rate, 100 / 1,000 / 5,000 for the relative gates gave the same false rollbacks
(≤ 0.2 %) and 96 % / 99 % / 99.8 % of doubled complaint rates caught."""

SRM_P_VALUE = 0.001
"""A served split this unlikely under the stage's percentage is a sample-ratio mismatch."""

SRM_MIN_EXPECTED = 5.0
"""χ² needs at least this many expected conversations on each side (Cochran's rule)."""

MIN_CANDIDATE_OUTCOMES = 30
"""No decision on fewer candidate outcomes: below this the normal approximation behind the
boundary is too rough (with 2 outcomes, 2 escalations would read as harm)."""

MAX_OUTCOMES_AHEAD = 10_000_000
""""Outcomes to decide" beyond this are reported as out of reach (``None``)."""


@dataclass(frozen=True)
class Counts:
    """Outcomes of one version in one stratum: ``n`` outcomes, ``events`` of them the gate's kind."""

    n: int
    events: int

    @property
    def rate(self) -> float | None:
        """Return ``events / n``, or ``None`` when there are no outcomes."""
        return self.events / self.n if self.n else None


@dataclass(frozen=True)
class Stratum:
    """One stage's outcomes: the candidate's and stable's."""

    candidate: Counts
    stable: Counts


@dataclass(frozen=True)
class GateTest:
    """A gate's statistics at one moment.

    ``estimate`` is the candidate's rate (absolute gate) or its ratio to stable's (relative
    gate; ``None`` while stable has no events), ``lower``/``upper`` the always-valid bounds on the
    same scale (``upper`` ``None`` when unbounded), ``theta``/``se`` the contrast θ̂ and its
    standard error, ``n`` the outcomes counted, ``alpha`` the level per side, ``tuning_n`` the
    mixture's tuning. ``harm``: θ's lower bound is above 0; ``non_inferior``: its upper bound is
    below 0.
    """

    estimate: float | None
    lower: float | None
    upper: float | None
    theta: float
    se: float
    n: int
    candidate_n: int
    boundary: float
    alpha: float
    harm: bool
    non_inferior: bool
    tuning_n: float


def mixture_rho(alpha: float, tuning_n: float) -> float:
    """Return the mixing scale ρ that makes the boundary tightest near ``tuning_n`` outcomes.

    GrowthBook's ``sequential_rho`` (Waudby-Smith et al. 2023, appendix): ρ = √((−2 ln α +
    ln(−2 ln α + 1)) / tuning_n).

    Raises:
        ValueError: ``alpha`` not in (0, 1) or ``tuning_n`` not positive.
    """
    if not 0 < alpha < 1 or tuning_n <= 0:
        raise ValueError("alpha must be in (0, 1) and tuning_n positive")
    return math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning_n)


def _log_mixture(s: float, n: float, rho: float) -> float:
    """log M_N(s) of the one-sided (half-normal) normal mixture."""
    grow = 1.0 + n * rho * rho
    return (
        math.log(2.0)
        - 0.5 * math.log(grow)
        + rho * rho * s * s / (2 * grow)
        + special.log_ndtr(rho * s / math.sqrt(grow))
    )


@lru_cache(maxsize=65536)
def boundary(n: int, alpha: float, tuning_n: float) -> float:
    """Return ``c_N``: how many standard errors θ̂ must exceed θ₀ by, after ``n`` outcomes, for
    the one-sided normal-mixture confidence sequence at level ``alpha`` to exclude θ₀.

    Solves ``M_N(b) = 1/α`` for the standardised sum ``b`` (``scipy.optimize.brentq``; the
    two-sided boundary of Howard et al. 2021 eq. (14) brackets it from above) and returns
    ``b / √n``. Cached: ``n`` is an integer count.

    Raises:
        ValueError: ``n`` < 1, or ``alpha`` / ``tuning_n`` out of range.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    rho = mixture_rho(alpha, tuning_n)
    grow = 1.0 + n * rho * rho
    two_sided = math.sqrt(2 * grow / (rho * rho) * math.log(math.sqrt(grow) / alpha))
    target = -math.log(alpha)
    b = optimize.brentq(lambda s: _log_mixture(s, n, rho) - target, 0.0, two_sided, xtol=1e-9)
    return b / math.sqrt(n)


def _smoothed_variance(c: Counts) -> float:
    """Binomial variance of ``c``'s rate with the rate smoothed as (events + 1) / (n + 2)."""
    p = (c.events + 1) / (c.n + 2)
    return p * (1 - p) / c.n


def _decide(
    theta: float, se: float, n: int, candidate_n: int, alpha: float, tuning_n: float
) -> tuple[float, float, float, bool, bool]:
    """Return the boundary and θ's bounds, and whether they show harm / non-inferiority (never
    below ``MIN_CANDIDATE_OUTCOMES``)."""
    c = boundary(n, alpha, tuning_n)
    low, high = theta - c * se, theta + c * se
    enough = candidate_n >= MIN_CANDIDATE_OUTCOMES
    return c, low, high, enough and low > 0, enough and high < 0


def relative_test(
    strata: Sequence[Stratum], *, margin: float, alpha: float, tuning_n: float = TUNING_RELATIVE
) -> GateTest | None:
    """Test whether the candidate's rate exceeds ``margin`` × stable's (θ = p_c − margin·p_s).

    Args:
        strata: per stage, candidate and stable counts; strata where either side has no
            outcome carry no comparison and are skipped.
        margin: the harm line as a ratio (1.0: any increase is harm; 1.2: 20 % more is harm).
        alpha: the level for this gate (per side).

    Returns:
        the ``GateTest`` (``estimate``/``lower``/``upper`` as ratios, Fieller's interval for the
        same boundary), or ``None`` when no stratum has outcomes on both sides.
    """
    used = [s for s in strata if s.candidate.n > 0 and s.stable.n > 0]
    if not used:
        return None
    w = np.array([s.candidate.n * s.stable.n / (s.candidate.n + s.stable.n) for s in used])
    total = w.sum()
    pc = np.array([s.candidate.events / s.candidate.n for s in used])
    ps = np.array([s.stable.events / s.stable.n for s in used])
    vc = np.array([_smoothed_variance(s.candidate) for s in used])
    vs = np.array([_smoothed_variance(s.stable) for s in used])
    a, b = float(w @ pc / total), float(w @ ps / total)  # stratified rates of candidate and stable
    var_a, var_b = float((w * w) @ vc / total**2), float((w * w) @ vs / total**2)
    theta = a - margin * b
    se = math.sqrt(var_a + margin * margin * var_b)
    n = int(sum(s.candidate.n + s.stable.n for s in used))
    candidate_n = int(sum(s.candidate.n for s in used))
    c, _, _, harm, non_inferior = _decide(theta, se, n, candidate_n, alpha, tuning_n)
    lower, upper = _fieller(a, b, var_a, var_b, c)
    return GateTest(
        estimate=(a / b) if b > 0 else None,
        lower=lower,
        upper=upper,
        theta=theta,
        se=se,
        n=n,
        candidate_n=candidate_n,
        boundary=c,
        alpha=alpha,
        harm=harm,
        non_inferior=non_inferior,
        tuning_n=tuning_n,
    )


def _fieller(a: float, b: float, var_a: float, var_b: float, c: float) -> tuple[float, float | None]:
    """Return the ratios R ≥ 0 with |a − R·b| ≤ c·√(var_a + R²·var_b): the bounds of a/b whose
    ends are exactly the margins where the gate's decision flips (Fieller 1954)."""
    qa = b * b - c * c * var_b
    qb = -2 * a * b
    qc = a * a - c * c * var_a
    if qa <= 0:  # stable's rate is too uncertain to bound the ratio from above
        if qc <= 0:
            return 0.0, None
        roots = np.roots([qa, qb, qc]) if qa < 0 else np.array([-qc / qb]) if qb else np.array([])
        real = sorted(r.real for r in np.atleast_1d(roots) if abs(r.imag) < 1e-12 and r.real >= 0)
        return (real[-1] if real else 0.0), None
    disc = max(qb * qb - 4 * qa * qc, 0.0)
    low = (-qb - math.sqrt(disc)) / (2 * qa)
    high = (-qb + math.sqrt(disc)) / (2 * qa)
    return max(low, 0.0), max(high, 0.0)


def absolute_test(
    candidate: Counts, *, threshold: float, alpha: float, tuning_n: float = TUNING_ABSOLUTE
) -> GateTest | None:
    """Test whether the candidate's rate exceeds ``threshold`` (θ = p_c − threshold).

    Returns the ``GateTest`` with ``estimate``/``lower``/``upper`` as rates in [0, 1], or
    ``None`` without outcomes.
    """
    if candidate.n == 0:
        return None
    rate = candidate.events / candidate.n
    se = math.sqrt(_smoothed_variance(candidate))
    theta = rate - threshold
    c, _, _, harm, non_inferior = _decide(theta, se, candidate.n, candidate.n, alpha, tuning_n)
    return GateTest(
        estimate=rate,
        lower=max(rate - c * se, 0.0),
        upper=min(rate + c * se, 1.0),
        theta=theta,
        se=se,
        n=candidate.n,
        candidate_n=candidate.n,
        boundary=c,
        alpha=alpha,
        harm=harm,
        non_inferior=non_inferior,
        tuning_n=tuning_n,
    )


def outcomes_to_decide(test: GateTest) -> int | None:
    """Return about how many more outcomes (candidate + stable) the gate needs before its bounds
    exclude 0, if the estimate stays where it is and the standard error shrinks as 1/√N.

    Towards harm when θ̂ > 0, towards non-inferiority when θ̂ < 0; 0 when decided already;
    ``None`` when θ̂ is 0 or more than ``MAX_OUTCOMES_AHEAD`` would be needed.
    """
    if test.harm or test.non_inferior:
        return 0
    gap = abs(test.theta)
    if gap == 0 or test.se == 0:
        return None

    def decided(n: int) -> bool:
        return gap >= boundary(n, test.alpha, test.tuning_n) * test.se * math.sqrt(test.n / n)

    high = max(test.n, 1) * 2
    while not decided(high):
        if high > MAX_OUTCOMES_AHEAD:
            return None
        high *= 2
    low = max(test.n, 1)
    while high - low > max(1, low // 100):  # to within 1 %: it is an estimate
        mid = (low + high) // 2
        if decided(mid):
            high = mid
        else:
            low = mid
    if 0 < test.candidate_n < MIN_CANDIDATE_OUTCOMES:  # the candidate's share must reach the floor too
        high = max(high, math.ceil(test.n * MIN_CANDIDATE_OUTCOMES / test.candidate_n))
    return high - test.n


@dataclass(frozen=True)
class SampleRatio:
    """Conversations served each version in a stage against the stage's split.

    ``p_value`` is ``None`` when too few were served to test (``SRM_MIN_EXPECTED``).
    """

    candidate: int
    stable: int
    expected_share: float
    p_value: float | None

    @property
    def observed_share(self) -> float | None:
        """Return the candidate's share of conversations served, or ``None`` without any."""
        total = self.candidate + self.stable
        return self.candidate / total if total else None

    @property
    def mismatch(self) -> bool:
        """Return whether the split is a sample-ratio mismatch (p < ``SRM_P_VALUE``)."""
        return self.p_value is not None and self.p_value < SRM_P_VALUE

    def as_dict(self) -> dict[str, Any]:
        """Return the test as plain data: ``{candidate, stable, expected_share, observed_share,
        p_value, mismatch}`` (for audit events and the API)."""
        return {
            "candidate": self.candidate,
            "stable": self.stable,
            "expected_share": self.expected_share,
            "observed_share": self.observed_share,
            "p_value": self.p_value,
            "mismatch": self.mismatch,
        }


def sample_ratio_test(*, candidate: int, stable: int, expected_share: float) -> SampleRatio:
    """Return Pearson's χ² goodness-of-fit test (1 degree of freedom) of ``candidate`` vs
    ``stable`` conversations against the candidate's ``expected_share`` in (0, 1).

    The statistic is Σ (observed − expected)² / expected; its p-value is the χ²₁ survival
    function (``scipy.special.chdtrc``) — the same as ``scipy.stats.chisquare``, without its
    per-call overhead (≈ 1 ms), which the rollout simulation calls millions of times.
    """
    total = candidate + stable
    expected = (total * expected_share, total * (1 - expected_share))
    if total == 0 or min(expected) < SRM_MIN_EXPECTED:
        return SampleRatio(candidate, stable, expected_share, None)
    statistic = sum((o - e) ** 2 / e for o, e in zip((candidate, stable), expected, strict=True))
    return SampleRatio(candidate, stable, expected_share, float(special.chdtrc(1, statistic)))
