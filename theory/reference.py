"""References: what decides whether a bound's n is actually enough, by exact computation where it exists.

Each problem that has one gets a `Reference` with two questions about a worst case:

- `failure(n, params)` returns an interval [low, high] for the worst-case failure probability of the problem's
  estimator at n samples. `low` is certified: it is the exact failure probability of some distribution of the
  problem, so `low > delta` at an upper bound's own n proves the bound false. `high` (None where unknown)
  is a certified upper bound on the worst case of the reference estimator, so `high <= delta` at n samples
  below a lower bound's n proves the lower bound false (fewer samples suffice).
- `smallest_n(params)` is the smallest n at which the certified `high` is at most delta (bisection), the figure
  a valid but loose bound is compared with.

Exact references:

- ``mean-estimation`` (empirical mean of [0, 1] variables, |mean - mu| >= eps): the worst case over Bernoulli(p)
  laws (Bernoulli laws are the extreme points for this tail by convexity, Hoeffding 1963, Sec. 3). For each of
  the O(n) cells of p in which both binomial tail events are fixed, the upper tail P(X >= k) grows and the lower
  tail P(X <= j) falls with p, so evaluating each at the cell's right and left end gives a certified upper bound,
  and the exact two-sided probability at every cell end gives a certified lower bound.
- ``tv-distribution`` and ``linf-distribution`` at V = 2: TV and the sup-norm both equal |p_n(1) - p(1)|, the
  binomial case above.
- ``text-generation`` at V = 2 with ceil(N/m) (refuting an upper bound) or floor(N/m) (refuting a lower bound)
  examples per context: contexts are independent, so the worst case is 1 - (1 - q)^m with q the single-context
  worst case.
- ``coverage``: P(some of m uniformly drawn contexts unseen after n draws) by inclusion-exclusion, in exact
  rational arithmetic.
- ``finite-class-realizable`` and ``vc-realizable``: k disjoint regions of mass just above eps, each the
  disagreement region of one hypothesis (k = min(|H| - 1, floor(1/eps)) for a finite class with a worst-case
  ERM; k = min(d, floor(1/eps)) shattered points for VC dimension d, where any learner guesses an unseen point's
  random label wrong with probability 1/2). Only `low` is known.

Monte-Carlo references (V > 2 for TV and sup-norm) search the laws in `LAWS` with `trials` draws at n and count
failures; `low` is then the exact one-sided binomial test's verdict: the failure rate exceeds delta if the test
rejects "rate <= delta" at level ALPHA, with the power stated by `power`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np
from scipy import stats

from theory.symbols import InputError

ALPHA = 0.01
MC_TRIALS = 4000  # Monte-Carlo trials per law
TIE = 1e-12  # an error within TIE of eps counts as a failure: rounding must never hide one


@dataclass(frozen=True)
class Failure:
    """The worst-case failure probability at n: certified `low` (and `high`, where known), and how."""

    low: float
    high: float | None
    method: str
    witness: str = ""


# ---- binomial: mean estimation and the V = 2 reductions -----------------------------------------------------
@lru_cache(maxsize=4096)
def binomial_worst(n: int, eps: float) -> Failure:
    """sup over p of P(|Binomial(n, p)/n - p| >= eps), certified from both sides (see the module docstring)."""
    if n <= 0:
        return Failure(1.0, 1.0, "exact binomial", "n = 0")
    k = np.arange(n + 2)
    # Breakpoints in p where a tail event changes: k/n - eps (upper tail X >= k) and j/n + eps (lower X <= j).
    cuts = np.unique(np.clip(np.concatenate([k / n - eps, k / n + eps, [0.0, 1.0]]), 0.0, 1.0))
    lo_end, hi_end = cuts[:-1], cuts[1:]
    mid = (lo_end + hi_end) / 2
    up_k = np.ceil(n * (mid + eps) - 1e-9)  # the upper-tail event X >= up_k inside the cell
    low_j = np.floor(n * (mid - eps) + 1e-9)  # the lower-tail event X <= low_j inside the cell
    upper_sup = stats.binom.sf(up_k - 1, n, hi_end)  # P(X >= k) grows with p: sup at the right end
    lower_sup = np.where(low_j >= 0, stats.binom.cdf(low_j, n, lo_end), 0.0)  # P(X <= j) falls with p
    exact = _two_sided(n, eps, cuts)
    i = int(np.argmax(exact))
    high = float(min(1.0, max(np.max(upper_sup + lower_sup), exact[i])))
    return Failure(float(exact[i]), high, "exact binomial", f"Bernoulli(p = {cuts[i]:.6g})")


def _two_sided(n: int, eps: float, p: np.ndarray) -> np.ndarray:
    """P(|X/n - p| >= eps) exactly, with a tie tolerance, for X ~ Binomial(n, p)."""
    hi = np.ceil(n * (p + eps) - n * TIE - 1e-9)
    lo = np.floor(n * (p - eps) + n * TIE + 1e-9)
    return stats.binom.sf(hi - 1, n, p) + np.where(lo >= 0, stats.binom.cdf(lo, n, p), 0.0)


# ---- coverage and disjoint regions ----------------------------------------------------------------------------
MAX_REGIONS = 60  # inclusion-exclusion beyond this uses the first two Bonferroni terms


def _some_unseen(regions: int, mass: mpmath.mpf, n: int) -> tuple[float, float]:
    """P(some of `regions` disjoint regions of probability `mass` each gets none of n draws): (low, high).

    Exact inclusion-exclusion (80 significant digits, ample for the alternating sum) up to MAX_REGIONS regions;
    beyond, the Bonferroni bounds S1 - S2 <= P <= S1.
    """
    with mpmath.workdps(80):
        term = [mpmath.binomial(regions, j) * (1 - j * mass) ** n for j in range(1, min(regions, MAX_REGIONS) + 1)]
        if regions <= MAX_REGIONS:
            p = float(sum((-1) ** j * t for j, t in enumerate(term)))
            return p, p
        return float(max(term[0] - term[1], 0)), float(min(term[0], 1))


def coverage_failure(n: int, m: int) -> Failure:
    low, high = _some_unseen(m, mpmath.mpf(1) / m, n) if m > 1 else (0.0, 0.0)
    return Failure(low, high, "exact inclusion-exclusion", f"m = {m} uniform contexts")


def regions_failure(n: int, eps: float, regions: int, guess: float) -> Failure:
    """`regions` disjoint regions of mass just above eps; failure when one is unseen (times `guess`)."""
    mass = mpmath.mpf(eps) * (1 + mpmath.mpf(10) ** -9)
    regions = min(regions, int(mpmath.floor(1 / mass)), MAX_REGIONS)
    if regions < 1:
        return Failure(0.0, None, "exact inclusion-exclusion")
    low, _ = _some_unseen(regions, mass, n)
    witness = f"{regions} disjoint regions of mass {float(mass):.6g}"
    return Failure(guess * low, None, "exact inclusion-exclusion", witness)


# ---- Monte-Carlo search over laws (V > 2) -----------------------------------------------------------------------
def _laws(V: int) -> dict[str, np.ndarray]:
    zipf = 1.0 / np.arange(1, V + 1)
    half = np.r_[np.full(V // 2, 2.0 / V), np.zeros(V - V // 2)]
    return {
        "uniform": np.full(V, 1.0 / V),
        "two-point": np.r_[0.5, 0.5, np.zeros(V - 2)],
        "Zipf": zipf / zipf.sum(),
        "uniform on half": half / half.sum(),
    }


def _tv(counts: np.ndarray, n: int, p: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(counts / n - p).sum(-1)


def _linf(counts: np.ndarray, n: int, p: np.ndarray) -> np.ndarray:
    return np.abs(counts / n - p).max(-1)


def monte_carlo_worst(
    n: int,
    eps: float,
    delta: float,
    V: int,
    metric: Callable,
    *,
    contexts: int = 1,
    trials: int = MC_TRIALS,
    seed: int = 0,
) -> Failure:
    """Search the laws of `_laws(V)` (the same law in every context); `low` is set above delta only when the
    exact one-sided binomial test rejects "failure rate <= delta" at level ALPHA."""
    rng = np.random.default_rng(seed)
    worst, witness = 0.0, ""
    for name, p in _laws(V).items():
        err = np.max([metric(rng.multinomial(n, p, size=trials), n, p) for _ in range(contexts)], axis=0)
        k = count_failures(err, eps)
        rejects = rate_test(k, trials, delta)[0] < ALPHA
        rate = k / trials
        if rejects and rate > worst:
            worst, witness = rate, f"{name} law on V = {V}: {k}/{trials} failures"
    return Failure(worst, None, f"Monte Carlo ({trials} trials per law, binomial test at {ALPHA})", witness)


def count_failures(errors: np.ndarray, eps: float) -> int:
    """Trials whose error reaches eps (within TIE: rounding must never hide a failure)."""
    return int(np.count_nonzero(np.asarray(errors) >= eps - TIE))


def rate_test(failures: int, trials: int, delta: float) -> tuple[float, tuple[float, float]]:
    """Exact one-sided binomial test of "failure rate <= delta": its p-value, and the 95% Clopper-Pearson
    interval of the rate. Shared by the Monte-Carlo coverage, the references and `theory.compare`."""
    p_value = float(stats.binomtest(failures, trials, delta, alternative="greater").pvalue)
    ci = stats.binomtest(failures, trials).proportion_ci(0.95, method="exact")
    return p_value, (float(ci.low), float(ci.high))


def power(trials: int, delta: float, true_rate: float, alpha: float = ALPHA) -> float:
    """Power of the exact one-sided binomial test of "rate <= delta" at level alpha when the rate is true_rate."""
    critical = int(stats.binom.isf(alpha, trials, delta)) + 1  # smallest k with P(X >= k | delta) <= alpha
    return float(stats.binom.sf(critical - 1, trials, true_rate))


# ---- the registry ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    """What decides validity on one problem: the parameters it needs, its exact and Monte-Carlo regimes.

    Attributes:
        problem: the problem's name (a Bound's `problem`).
        description: what the worst case is and how it is certified.
        exact: (n, params, side) -> the certified worst-case Failure at n, or None where only Monte Carlo applies
            (side: 'upper' when refuting an upper bound, 'lower' for a lower one).
        monte_carlo: (n, params) -> a simulated Failure, or None where the problem has no Monte-Carlo regime.
    """

    problem: str
    description: str
    exact: Callable[[int, Mapping[str, float], str], Failure | None]  # None where only Monte Carlo applies
    monte_carlo: Callable[[int, Mapping[str, float]], Failure] | None = None

    def failure(self, n: int, params: Mapping[str, float], side: str = "upper") -> Failure:
        """Worst-case failure at n (`side` = 'upper' when refuting an upper bound, 'lower' for a lower one)."""
        out = self.exact(n, params, side)
        if out is None and self.monte_carlo is not None:
            out = self.monte_carlo(n, params)
        if out is None:
            raise InputError(f"no reference for {self.problem} at {dict(params)}")
        return out

    def smallest_n(self, params: Mapping[str, float], *, start: int = 1, limit: int = 10**7) -> int | None:
        """Smallest n at which the certified worst case is <= delta (None when `high` is unknown here)."""
        delta = params["delta"]

        def ok(k: int) -> bool:
            f = self.exact(k, params, "lower")
            if f is None or f.high is None:
                raise LookupError
            return f.high <= delta

        try:
            hi = max(start, 1)
            while not ok(hi):
                hi *= 2
                if hi > limit:
                    return None
        except LookupError:
            return None
        lo = hi // 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if ok(mid) else (mid, hi)
        return hi


def _per_context(n: int, m: int, side: str) -> int:
    return math.ceil(n / m) if side == "upper" else n // m


def _mean(n, ps, side):
    return binomial_worst(n, float(ps["eps"]))


def _two_outcomes(n, ps, side):
    return binomial_worst(n, float(ps["eps"])) if int(ps["V"]) == 2 else None


def _contexts(n, ps, side):
    m = int(ps["m"])
    if int(ps["V"]) != 2:
        return None
    q = binomial_worst(_per_context(n, m, side), float(ps["eps"]))
    high = None if q.high is None else 1 - (1 - q.high) ** m
    return Failure(1 - (1 - q.low) ** m, high, "exact binomial, independent contexts", f"{q.witness} in each")


def _mc(metric, contexts=False):
    def run(n, ps):
        m = int(ps.get("m", 1)) if contexts else 1
        per = _per_context(n, m, "upper")
        return monte_carlo_worst(per, float(ps["eps"]), float(ps["delta"]), int(ps["V"]), metric, contexts=m)

    return run


def _finite(n, ps, side):
    size = int(ps["V"]) ** int(ps.get("l", 1))
    return regions_failure(n, float(ps["eps"]), size - 1, 1.0)


def _vc(n, ps, side):
    return regions_failure(n, float(ps["eps"]), int(ps["d"]), 0.5)


REFERENCES: dict[str, Reference] = {
    r.problem: r
    for r in (
        Reference("mean-estimation", "worst Bernoulli law, exact binomial tails", _mean),
        Reference(
            "tv-distribution", "V = 2: exact binomial; V > 2: Monte-Carlo search over laws", _two_outcomes, _mc(_tv)
        ),
        Reference(
            "linf-distribution",
            "V = 2: exact binomial; V > 2: Monte-Carlo search over laws",
            _two_outcomes,
            _mc(_linf),
        ),
        Reference(
            "text-generation",
            "m contexts with N/m examples each; V = 2: exact binomial; V > 2: Monte Carlo",
            _contexts,
            _mc(_tv, contexts=True),
        ),
        Reference(
            "coverage",
            "exact inclusion-exclusion over the m contexts",
            lambda n, ps, s: coverage_failure(n, int(ps["m"])),
        ),
        Reference("finite-class-realizable", "|H| - 1 disjoint bad regions, worst-case ERM (exact)", _finite),
        Reference("vc-realizable", "d shattered points of mass just above eps, any learner (exact)", _vc),
    )
}


def reference_for(problem: str) -> Reference | None:
    """The reference of `problem`, or None when the package has none."""
    return REFERENCES.get(problem)
