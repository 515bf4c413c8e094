"""The references of the catalogue's problems, declared through `theory.reference.register_problem` like a user's.

Exact references:

- ``mean-estimation`` (empirical mean of [0, 1] variables, |mean - mu| >= eps): the worst case over Bernoulli(p)
  laws (Bernoulli laws are the extreme points for this tail by convexity, Hoeffding 1963, Sec. 3). For each of
  the O(n) cells of p in which both binomial tail events are fixed, the upper tail P(X >= k) grows and the lower
  tail P(X <= j) falls with p, so evaluating each at the cell's right and left end gives a certified upper bound,
  and the exact two-sided probability at every cell end gives a certified lower bound.
- ``tv-distribution`` and ``linf-distribution`` at V = 2: TV and the sup-norm both equal |p_n(1) - p(1)|, the
  binomial case above; ``sequence-tv`` the same when V^l = 2.
- ``text-generation`` at V = 2 with ceil(N/m) (refuting an upper bound) or floor(N/m) (refuting a lower bound)
  examples per context: contexts are independent, so the worst case is 1 - (1 - q)^m with q the single-context
  worst case.
- ``coverage``: P(some of m uniformly drawn contexts unseen after n draws) by inclusion-exclusion, in exact
  rational arithmetic.
- ``finite-class-realizable`` and ``vc-realizable``: k disjoint regions of mass just above eps, each the
  disagreement region of one hypothesis (k = min(|H| - 1, floor(1/eps)) for a finite class with a worst-case
  ERM; k = min(d, floor(1/eps)) shattered points for VC dimension d, where any learner guesses an unseen point's
  random label wrong with probability 1/2). Only `low` is known.
- ``mode-identification`` (the empirical mode, ties broken against the learner; failure when its true mass is
  eps or more below the largest) at V = 2: the two outcomes must be at least eps apart to fail, and
  P(Binomial(n, (1 + g)/2) <= n/2) falls with the gap g, so the gap eps is the exact worst case (`high`; `low`
  puts the gap at eps (1 + 1e-9), so that it fails under either convention, error > eps or >= eps).
- ``finite-class-agnostic`` (ERM over any class of |H| = V^l hypotheses, ties broken against it; failure when
  its excess 0-1 risk exceeds eps: the constructions put it at eps (1 + 1e-9)): `low` is the larger of two exact
  constructions -- two hypotheses whose losses differ by +-1 with mean eps (ERM fails iff Binomial(n,
  (1 + eps)/2) <= n/2; with constant outputs as hypotheses, this is the mode), and |H| - 1 hypotheses with independent
  Bernoulli((1 + eps)/2) losses against one with Bernoulli((1 - eps)/2) (every joint law of losses is realized by
  h_i(x) = x_i on x in {0, 1}^|H| with y = 0); `high` = 2 |H| exp(-n eps^2 / 2), Hoeffding's inequality for each
  hypothesis at eps/2 and a union bound (Shalev-Shwartz & Ben-David 2014, Cor. 4.6): certified for every law.
- ``vc-agnostic`` (VC dimension d): `low` is the two-hypothesis construction on one shattered point; `high` is
  the union bound above for ERM over the 2^d labelings of d points (a class of VC dimension d), so a lower bound
  claimed for every class of VC dimension d is false where it exceeds that class's certified sample size. That
  `high` covers one class only, so it certifies no upper bound's looseness (`high_scope`).

Monte-Carlo references (TV and sup-norm at V > 2, text generation at V > 2, the mode at V > 2, TV over V^l
outputs) search the laws of `_laws` (uniform, two-point, Zipf, uniform on half; for the mode, two leaders eps
apart and one leader eps above V - 1 tied outcomes) with the rule of `theory.reference`.
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np
from scipy import stats

from theory.reference import TIE, Failure, register_problem


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


def _finite(n, ps, side):
    size = int(ps["V"]) ** int(ps.get("l", 1))
    return regions_failure(n, float(ps["eps"]), size - 1, 1.0)


def _vc(n, ps, side):
    return regions_failure(n, float(ps["eps"]), int(ps["d"]), 0.5)


# ---- the mode and agnostic learning: two-hypothesis and independent-loss constructions ------------------------
def _pair(n: int, eps: float) -> float:
    """P(Binomial(n, (1 + eps)/2) <= n/2): ERM (ties against it) picks the worse of two hypotheses whose losses
    differ by +-1 with mean eps -- and the empirical mode picks the lesser of two outcomes eps apart."""
    return float(stats.binom.cdf(n // 2, n, (1 + eps) / 2)) if n > 0 else 1.0


def _independent(n: int, eps: float, log_others: float) -> float:
    """P(min_i X_i <= X_0), X_0 ~ Binomial(n, (1 - eps)/2), exp(log_others) independent X_i ~ Binomial(n,
    (1 + eps)/2): ERM over hypotheses with independent losses picks one eps worse than the best."""
    if n <= 0:
        return 1.0
    x = np.arange(n + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        # 1 - P(every X_i > x) = 1 - sf(x)^k, in logs: k can be astronomically large (|H| = V^l)
        some = -np.expm1(math.exp(min(log_others, 700.0)) * stats.binom.logsf(x, n, (1 + eps) / 2))
    return float(np.sum(stats.binom.pmf(x, n, (1 - eps) / 2) * np.nan_to_num(some, nan=1.0)))


def _union(n: int, eps: float, log_size: float) -> float:
    """2 |H| exp(-n eps^2 / 2), capped at 1: Hoeffding at eps/2 for each of |H| hypotheses, union bound."""
    return float(min(1.0, math.exp(min(0.0, math.log(2) + log_size - n * eps**2 / 2))))


ABOVE = 1 + 1e-9  # a gap just above eps: the excess is then > eps, a failure under either convention (> or >=)


def _mode(n, ps, side):
    if int(ps.get("V", 2)) != 2:
        return None
    eps = float(ps["eps"])
    witness = f"two outcomes of mass {(1 + eps) / 2:.6g} and {(1 - eps) / 2:.6g}"
    return Failure(_pair(n, eps * ABOVE), _pair(n, eps), "exact binomial", witness)


def _agnostic(n, ps, side):
    eps, V, length = float(ps["eps"]), int(ps.get("V", 2)), int(ps.get("l", 1))
    log_size = length * math.log(V)
    if V < 2:
        return Failure(0.0, 0.0, "one hypothesis")
    log_others = log_size + math.log1p(-math.exp(-log_size))  # ln(|H| - 1)
    pair, independent = _pair(n, eps * ABOVE), _independent(n, eps * ABOVE, log_others)
    witness = (
        "two hypotheses whose losses differ by +-1 with mean eps"
        if pair >= independent
        else f"|H| - 1 = {math.exp(log_others):.6g} hypotheses with independent losses, eps worse than the best"
    )
    return Failure(max(pair, independent), _union(n, eps, log_size), "exact constructions; Hoeffding union", witness)


def _vc_agnostic(n, ps, side):
    eps, d = float(ps["eps"]), int(ps["d"])
    low = _pair(n, eps * ABOVE)
    witness = "one shattered point, labels Bernoulli((1 + eps)/2)"
    method = "exact construction; Hoeffding union over 2^d labelings"
    return Failure(low, _union(n, eps, d * math.log(2)), method, witness)


# ---- Monte Carlo (V > 2) --------------------------------------------------------------------------------------
def _laws(V: int, **_) -> dict[str, np.ndarray]:
    zipf = 1.0 / np.arange(1, V + 1)
    half = np.r_[np.full(V // 2, 2.0 / V), np.zeros(V - V // 2)]
    return {
        "uniform": np.full(V, 1.0 / V),
        "two-point": np.r_[0.5, 0.5, np.zeros(V - 2)],
        "Zipf": zipf / zipf.sum(),
        "uniform on half": half / half.sum(),
    }


def _tv(rng, n, p, trials, **_):
    return 0.5 * np.abs(rng.multinomial(n, p, size=trials) / n - p).sum(-1)


def _linf(rng, n, p, trials, **_):
    return np.abs(rng.multinomial(n, p, size=trials) / n - p).max(-1)


def _contexts_tv(rng, n, p, trials, m, **_):
    """max over m contexts (the same law in each) of TV, with ceil(n/m) examples per context."""
    per = _per_context(n, int(m), "upper")
    return np.max([_tv(rng, per, p, trials) for _ in range(int(m))], axis=0)


def _sequence_laws(V, **ps):
    return _laws(int(V) ** int(ps["l"]))


def _mode_laws(V, eps, **_):
    V = int(V)
    pair = np.r_[(1 + eps) / 2, (1 - eps) / 2, np.zeros(V - 2)]
    top = (1 + (V - 1) * eps) / V
    laws = {
        "two outcomes eps apart": pair,
        "one outcome eps above V - 1 tied ones": np.r_[top, np.full(V - 1, top - eps)],
    }
    if V > 2 and 0.5 / (V - 2) <= (0.5 - eps) / 2:  # the rest below both leaders
        laws["two leaders eps apart, the rest uniform"] = np.r_[
            (0.5 + eps) / 2, (0.5 - eps) / 2, np.full(V - 2, 0.5 / (V - 2))
        ]
    return laws


def _mode_error(rng, n, p, trials, **_):
    """p_max - p(empirical mode), ties broken toward the outcome of least mass (against the learner)."""
    counts = rng.multinomial(n, p, size=trials)
    chosen = np.argmax(counts - p, axis=-1)  # p < 1 never reorders different counts, only breaks ties
    return p.max() - p[chosen]


#: The Monte-Carlo probes of the TV, sup-norm and text-generation references: V > 2, where no exact one exists.
MC_POINTS: tuple[dict[str, float], ...] = (
    {"eps": 0.1, "delta": 0.05, "m": 3, "V": 10, "l": 1, "d": 1},
    {"eps": 0.15, "delta": 0.02, "m": 2, "V": 30, "l": 1, "d": 1},
)
SEQUENCE_POINTS: tuple[dict[str, float], ...] = (
    {"eps": 0.1, "delta": 0.05, "m": 1, "V": 2, "l": 3, "d": 1},
    {"eps": 0.15, "delta": 0.02, "m": 1, "V": 3, "l": 2, "d": 1},
)


def _sequence(n, ps, side):
    return binomial_worst(n, float(ps["eps"])) if int(ps["V"]) ** int(ps.get("l", 1)) == 2 else None


# ---- declarations -------------------------------------------------------------------------------------------
_V2_MC = "V = 2: exact binomial; V > 2: Monte-Carlo search over laws"
register_problem("mean-estimation", description="worst Bernoulli law, exact binomial tails", exact=_mean)
register_problem(
    "tv-distribution", _tv, _laws, description=_V2_MC, exact=_two_outcomes, points=MC_POINTS, exact_at=("V",)
)
register_problem(
    "linf-distribution", _linf, _laws, description=_V2_MC, exact=_two_outcomes, points=MC_POINTS, exact_at=("V",)
)
register_problem(
    "text-generation",
    _contexts_tv,
    _laws,
    description="m contexts with N/m examples each; V = 2: exact binomial; V > 2: Monte Carlo",
    exact=_contexts,
    points=MC_POINTS,
    exact_at=("V",),
)
register_problem(
    "sequence-tv",
    _tv,
    _sequence_laws,
    description="TV over the V^l outputs: exact binomial when V^l = 2, Monte Carlo otherwise",
    exact=_sequence,
    points=SEQUENCE_POINTS,
)
register_problem(
    "coverage",
    description="exact inclusion-exclusion over the m contexts",
    exact=lambda n, ps, s: coverage_failure(n, int(ps["m"])),
)
register_problem(
    "finite-class-realizable", description="|H| - 1 disjoint bad regions, worst-case ERM (exact)", exact=_finite
)
register_problem(
    "vc-realizable", description="d shattered points of mass just above eps, any learner (exact)", exact=_vc
)
register_problem(
    "mode-identification",
    _mode_error,
    _mode_laws,
    description="the empirical mode, ties against it; V = 2: exact binomial (two outcomes eps apart); V > 2: "
    "Monte Carlo",
    exact=_mode,
    points=MC_POINTS,
    exact_at=("V",),
)
register_problem(
    "finite-class-agnostic",
    description="ERM over V^l hypotheses: two exact constructions (low), Hoeffding's union bound (high)",
    exact=_agnostic,
)
register_problem(
    "vc-agnostic",
    description="one shattered point (low); Hoeffding's union bound over the 2^d labelings of d points (high)",
    exact=_vc_agnostic,
    high_scope="ERM on one class of VC dimension d (the 2^d labelings of d points)",
)
