"""References: what decides whether a bound's n is actually enough on its problem, and how to declare one.

A bound's `problem` names an estimator, its error metric and the laws it must work for. A `Reference` for that
problem answers, at a sample size n, how likely the estimator is to miss by eps or more (error >= eps counts as
a failure, within TIE: rounding must never hide one), in one or both of two ways:

- `exact(n, params, side)` returns a `Failure` with a certified `low` (the exact failure probability of some law
  of the problem, so `low > delta` at an upper bound's own n proves the bound false) and, where known, a certified
  `high` (an upper bound on the worst case over every law, so `high < delta` below a lower bound's n proves the
  lower bound false). Returns None where it does not apply.
- `monte_carlo`, a `MonteCarlo`: the estimator's errors drawn under candidate laws (the declarer's guess at the
  worst cases) at fixed points. An upper bound is false when, at its own n, the exact one-sided binomial test
  rejects "failure rate <= delta" under some law (Clopper & Pearson 1934). The level is ALPHA over all the
  (point, law) tests together (Bonferroni), so a valid bound is called false with probability at most ALPHA
  however many laws are searched; the number of trials of each test is the smallest that detects a failure rate
  of 2 delta with the power asked for. A lower bound is false when an estimator supplied to beat it (`beat`) has
  a failure rate significantly below delta under every candidate law at one sample fewer -- evidence on those
  laws, not a proof over all laws.

`register_problem` declares a problem; the package declares its own the same way (`theory.problems`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from theory.symbols import DOMAINS, InputError

ALPHA = 0.01  # family-wise level of every Monte-Carlo validity check (and of each exact binomial test in compare)
TIE = 1e-12  # an error within TIE of eps counts as a failure: rounding must never hide one
POWER = 0.99  # default power against a failure rate of 2 delta (each test costs milliseconds to seconds)
TIME_LIMIT = 45.0  # default seconds for one bound's Monte-Carlo validity check
MAX_TRIALS = 10**7  # a test that would need more trials than this is skipped (delta too small to simulate)
BATCH_ELEMENTS = 2_000_000  # trials x n drawn at once: bounds the memory a draw takes

#: Where a Monte-Carlo reference checks a bound when its declaration names no points: moderate eps and delta,
#: delta large enough for the binomial test to have power with a few thousand trials.
POINTS: tuple[dict[str, float], ...] = (
    {"eps": 0.1, "delta": 0.05, "m": 3, "V": 10, "l": 1, "d": 3},
    {"eps": 0.2, "delta": 0.01, "m": 2, "V": 4, "l": 2, "d": 2},
    {"eps": 0.05, "delta": 0.01, "m": 1, "V": 2, "l": 1, "d": 1},
    {"eps": 0.1, "delta": 1e-3, "m": 2, "V": 3, "l": 1, "d": 5},
)

#: draw(rng, n, law, trials, **params) -> the estimator's error on `trials` independent samples of size n
Draw = Callable[..., np.ndarray]
#: laws(**params) -> {label: law}: the candidate laws to search at a point
Laws = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True)
class Failure:
    """The worst-case failure probability at n: certified `low` (and `high`, where known), and how."""

    low: float
    high: float | None
    method: str
    witness: str = ""


def count_failures(errors: np.ndarray, eps: float) -> int:
    """Trials whose error reaches eps (within TIE: rounding must never hide a failure)."""
    return int(np.count_nonzero(np.asarray(errors) >= eps - TIE))


def rate_test(failures: int, trials: int, delta: float) -> tuple[float, tuple[float, float]]:
    """Exact one-sided binomial test of "failure rate <= delta": its p-value, and the 95% Clopper-Pearson
    interval of the rate. Shared by the Monte-Carlo references, `theory.montecarlo` and `theory.compare`."""
    p_value = float(stats.binomtest(failures, trials, delta, alternative="greater").pvalue)
    ci = stats.binomtest(failures, trials).proportion_ci(0.95, method="exact")
    return p_value, (float(ci.low), float(ci.high))


def power(trials: int, delta: float, true_rate: float, alpha: float = ALPHA) -> float:
    """Power of the exact one-sided binomial test of "rate <= delta" at level alpha when the rate is true_rate."""
    critical = int(stats.binom.isf(alpha, trials, delta)) + 1  # smallest k with P(X >= k | delta) <= alpha
    return float(stats.binom.sf(critical - 1, trials, true_rate))


def _power_below(trials: int, delta: float, true_rate: float, alpha: float) -> float:
    """Power of the exact one-sided test of "rate >= delta" (rejected for few failures) at rate true_rate."""
    critical = int(stats.binom.ppf(alpha, trials, delta))  # P(X <= critical | delta) may exceed alpha
    if stats.binom.cdf(critical, trials, delta) > alpha:
        critical -= 1
    return float(stats.binom.cdf(critical, trials, true_rate)) if critical >= 0 else 0.0


def trials_for(delta: float, alpha: float, wanted: float, side: str = "upper") -> int | None:
    """The fewest trials (within 1%) whose exact binomial test at level alpha has power `wanted`: against a
    failure rate of 2 delta (upper bounds) or delta / 2 (lower bounds). None beyond MAX_TRIALS."""
    if side == "upper":
        rate = min(2 * delta, 1.0)
        ok = lambda t: power(t, delta, rate, alpha) >= wanted  # noqa: E731
    else:
        ok = lambda t: _power_below(t, delta, delta / 2, alpha) >= wanted  # noqa: E731
    hi = 16
    while not ok(hi):
        hi *= 2
        if hi > MAX_TRIALS:
            return None
    lo = hi // 2
    while hi - lo > max(1, lo // 100):  # power is not monotone in the trials at the 1% scale: bisect coarsely
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


# ---- Monte Carlo ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Test:
    """One (point, law) Monte-Carlo test: the failures counted in `trials` draws at sample size n."""

    params: Mapping[str, float]
    law: str
    n: int
    trials: int
    failures: int
    p_value: float
    rejected: bool
    finished: bool = True


@dataclass(frozen=True)
class Evidence:
    """What one bound's Monte-Carlo validity check did: its tests, their level and power, and its verdict.

    Attributes:
        problem: the problem's name.
        side: 'upper' (is the bound's n enough?) or 'lower' (does `beat` need fewer samples?).
        tests: every (point, law) test run, in order.
        alpha: the level of each test (ALPHA / the number of tests for upper bounds: Bonferroni).
        power: the power asked for against a failure rate of 2 delta (delta / 2 for lower bounds).
        skipped: points not tested, each with why.
        seconds: wall time of the check.
        false: the message proving the bound false, or None.
        divisor: the Bonferroni divisor, alpha = ALPHA / divisor: the number of tests (upper bounds) or of points
            (lower bounds, where every law at a point must reject).
    """

    problem: str
    side: str
    tests: tuple[Test, ...]
    alpha: float
    power: float
    skipped: tuple[str, ...]
    seconds: float
    false: str | None
    divisor: int = 1

    @property
    def unfinished(self) -> int:
        return sum(not t.finished for t in self.tests)

    @property
    def tested(self) -> bool:
        """Whether at least one test ran to the end (else the check is no evidence either way)."""
        return any(t.finished for t in self.tests)

    def __str__(self) -> str:
        if not self.tested:
            why = "; ".join(self.skipped) or "stopped at the time limit"
            return f"Monte Carlo on {self.problem!r}: NOT CHECKED, no test finished ({why})"
        done = [t for t in self.tests if t.finished]
        points = len({tuple(sorted(t.params.items())) for t in done})
        laws = len({t.law for t in done})
        trials = sorted({t.trials for t in done})
        span = f"{trials[0]}" if len(trials) == 1 else f"{trials[0]}-{trials[-1]}"
        if self.side == "upper":
            what = f"power {self.power:.2f} per test against a failure rate of 2 delta (capped at 1)"
        else:
            what = f"power {self.power:.2f} per point (every law must reject) against a failure rate of delta / 2"
        out = (
            f"Monte Carlo on {self.problem!r}: {points} point(s) x {laws} law(s), {span} trials per test for {what}; "
            f"exact one-sided binomial tests at {ALPHA:g} / {self.divisor} = {self.alpha:.2g} each (Bonferroni); "
            f"{self.seconds:.2f} s"
        )
        if self.unfinished:
            out += f"; {self.unfinished} test(s) stopped at the time limit (no evidence either way)"
        if self.skipped:
            out += f"; skipped: {'; '.join(self.skipped)}"
        return out


def _fmt(ps: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in ps.items())


def bound_at(bound, point: Mapping[str, float]) -> tuple[dict[str, float], float] | str:
    """The bound's own parameters at `point` and its n there, or why it does not apply (a parameter the point
    lacks, a violated condition, an invalid value)."""
    from theory.bound import ValidityError

    ps = {k: point[k] for k in bound.parameters if k in point}
    missing = [k for k in bound.parameters if k not in point]
    if missing:
        return f"a point lacks {', '.join(missing)}"
    try:
        if bound.violations(**ps):
            return f"the bound's conditions exclude {_fmt(ps)}"
        return ps, float(bound.n(**ps))
    except (ValidityError, InputError) as err:
        return f"{_fmt(ps)}: {err}"


@dataclass(frozen=True)
class MonteCarlo:
    """A problem's estimator simulated under candidate laws (see the module docstring for the decision rule).

    Attributes:
        draw: draw(rng, n, law, trials, **params) -> the estimator's error (>= 0) on `trials` independent samples
            of size n under `law`, shape [trials]; vectorize over trials.
        laws: laws(**params) -> {label: law}, the laws to search at a point (your guess at the worst cases).
        beat: like `draw`, for an estimator that should beat lower bounds; None: lower bounds are not checked.
        points: parameter points to check at (keyword names of `theory.symbols`); default POINTS.
        power: the power wanted against a failure rate of 2 delta; sets the trials of each test.
        time_limit: seconds for one bound's check; tests not finished by then count as no evidence.
        seed: the random seed (the same seed gives the same verdict).
    """

    draw: Draw
    laws: Laws
    beat: Draw | None = None
    points: tuple[Mapping[str, float], ...] = POINTS
    power: float = POWER
    time_limit: float = TIME_LIMIT
    seed: int = 0

    def errors(
        self, draw: Draw, rng: np.random.Generator, n: int, law: Any, trials: int, params: Mapping
    ) -> np.ndarray:
        """One batch of errors from `draw`, checked: shape [trials], no NaN."""
        out = np.asarray(draw(rng, n, law, trials, **params), dtype=np.float64)
        if out.shape != (trials,):
            raise InputError(f"draw must return one error per trial, shape ({trials},); got shape {out.shape}")
        if np.isnan(out).any():
            raise InputError(f"draw returned NaN errors at n = {n}, {_fmt(params)}")
        return out

    def count(self, draw: Draw, rng, n: int, law, trials: int, params, eps: float, deadline: float) -> tuple[int, int]:
        """Failures in `trials` draws, batched to bound memory; stops at the deadline: (failures, trials drawn)."""
        failures, done = 0, 0
        batch = max(1, min(trials, BATCH_ELEMENTS // max(n, 1)))
        while done < trials and time.monotonic() < deadline:
            k = min(batch, trials - done)
            failures += count_failures(self.errors(draw, rng, n, law, k, params), eps)
            done += k
        return failures, done

    def candidates(self, params: Mapping[str, float]) -> dict[str, Any]:
        laws = dict(self.laws(**params))
        if not laws:
            raise InputError(f"laws must return at least one law at {_fmt(params)}; got none")
        return laws

    def evidence(self, bound, problem: str, *, seed: int | None = None, power: float | None = None) -> Evidence:
        """Check `bound` (explicit) at every applicable point; see the module docstring for the rule.

        The same seed gives the same verdict unless the time limit stops a test. `seed` and `power` override the
        declared ones (an independent second look, as the mutant suite's ground truth takes)."""
        start = time.monotonic()
        deadline = start + self.time_limit
        side, wanted = bound.kind, self.power if power is None else power
        plan, skipped = [], []
        if "delta" not in bound.parameters:
            skipped.append("the bound has no delta: there is no failure probability to test")
        elif side == "lower" and self.beat is None:
            skipped.append("lower bounds are checked only with an estimator to beat them (register_problem's beat)")
        for point in self.points if not skipped else ():
            at = bound_at(bound, point)
            if isinstance(at, str):
                skipped.append(at)
                continue
            ps, value = at
            n = math.ceil(value) if side == "upper" else math.ceil(value) - 1
            if not (1 <= n <= BATCH_ELEMENTS):
                skipped.append(f"n = {value:.3g} at {_fmt(ps)} is outside 1..{BATCH_ELEMENTS}")
                continue
            plan.append((dict(point), n, self.candidates(point)))
        divisor = max(sum(len(laws) for _, _, laws in plan) if side == "upper" else len(plan), 1)
        alpha = ALPHA / divisor
        rng = np.random.default_rng(self.seed if seed is None else seed)
        tests: list[Test] = []
        false = None
        for point, n, laws in plan:
            delta, eps = float(point["delta"]), float(point["eps"])
            # lower bounds: every law must reject, from independent draws, so each test gets power wanted^(1/L)
            per_test = wanted if side == "upper" else wanted ** (1 / len(laws))
            trials = trials_for(delta, alpha, per_test, side)
            if trials is None:
                skipped.append(f"delta = {delta:g} needs more than {MAX_TRIALS} trials")
                continue
            shown = _fmt({k: v for k, v in point.items() if k in bound.parameters or k in ("eps", "delta")})
            below = []
            for label, law in laws.items():
                draw = self.draw if side == "upper" else self.beat
                k, done = self.count(draw, rng, n, law, trials, point, eps, deadline)
                finished = done == trials
                if side == "upper":
                    p = float(stats.binom.sf(k - 1, trials, delta)) if finished else 1.0
                else:
                    p = float(stats.binom.cdf(k, trials, delta)) if finished else 1.0
                tests.append(Test(point, label, n, done, k, p, finished and p < alpha, finished))
                below.append(tests[-1].rejected)
            rejected = [t for t in tests[-len(below) :] if t.rejected]
            if side == "upper" and rejected and false is None:
                t = max(rejected, key=lambda t: t.failures)  # the witness: the law that fails most often
                false = (
                    f"invalid upper bound: at {shown} its n = {n} leaves a failure rate {t.failures}/{t.trials} = "
                    f"{t.failures / t.trials:.4g} > delta = {delta:g} under the law {t.law!r} (Monte Carlo on "
                    f"{problem!r}; exact one-sided binomial test, p = {t.p_value:.2g} < {alpha:.2g} = {ALPHA:g} / "
                    f"{divisor} tests)"
                )
            if side == "lower" and below and all(below) and false is None:
                false = (
                    f"false lower bound: at {shown} it says n >= {n + 1} is necessary, but the estimator supplied to "
                    f"beat it fails with rate significantly below delta = {delta:g} at n = {n} under every declared "
                    f"law of {problem!r} ({', '.join(laws)}; exact binomial tests at {alpha:.2g} each; declaring "
                    "beat= says these laws are the problem's whole family)"
                )
        seconds = time.monotonic() - start
        return Evidence(problem, side, tuple(tests), alpha, wanted, tuple(skipped), seconds, false, divisor)

    def smallest_n(self, params: Mapping[str, float], *, trials: int = 4000, limit: int = 10**7) -> int | None:
        """Estimated smallest n at which every candidate law's empirical failure rate over `trials` draws is <=
        delta: a Monte-Carlo estimate, not a certificate. Found on a sqrt(2) grid, then bisected to 1/64."""
        delta, eps = float(params["delta"]), float(params["eps"])
        laws = self.candidates(params)

        def ok(n: int) -> bool:
            rng = np.random.default_rng(self.seed + n)
            for law in laws.values():
                k, _ = self.count(self.draw, rng, n, law, trials, params, eps, math.inf)
                if k > delta * trials:
                    return False
            return True

        hi = 1
        while not ok(hi):
            hi = max(hi + 1, math.ceil(hi * 2 ** (1 / 2)))
            if hi > limit:
                return None
        lo = max(1, math.floor(hi / 2 ** (1 / 2)))
        while hi - lo > max(1, lo // 64):
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if ok(mid) else (mid, hi)
        return hi


# ---- the registry --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    """What decides validity on one problem.

    Attributes:
        problem: the problem's name (a Bound's `problem`).
        description: what the worst case is and how it is certified.
        exact: (n, params, side) -> the certified Failure at n, or None where it does not apply (side: 'upper'
            when refuting an upper bound, 'lower' for a lower one); None when the problem has no exact reference.
        monte_carlo: the simulated estimator under candidate laws, or None.
        exact_at: parameters at which `exact` computes the worst case when a bound does not take them (V = 2 for
            a V-free bound on learning a law): its certificate then covers only the laws at those values.
        high_scope: where `high` holds when that is less than the problem's whole family (one class of VC
            dimension d): `high` then refutes lower bounds claimed for every member, and certifies no looseness.
    """

    problem: str
    description: str
    exact: Callable[[int, Mapping[str, float], str], Failure | None] | None = None
    monte_carlo: MonteCarlo | None = None
    exact_at: tuple[str, ...] = ()
    high_scope: str = ""

    def failure(self, n: int, params: Mapping[str, float], side: str = "upper") -> Failure | None:
        """The exact reference's Failure at n, or None where it does not apply."""
        return None if self.exact is None else self.exact(n, params, side)

    def _smallest(self, params: Mapping[str, float], which: Literal["high", "low"], start: int, limit: int):
        delta = params["delta"]

        def ok(k: int) -> bool:
            f = self.failure(k, params, "lower")
            value = None if f is None else getattr(f, which)
            if value is None:
                raise LookupError
            return value <= delta

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

    def smallest_n(self, params: Mapping[str, float], *, start: int = 1, limit: int = 10**7) -> int | None:
        """Smallest n at which the certified worst case `high` is <= delta (None where `high` is unknown): every
        law is then handled, so the true smallest sufficient n is at most this."""
        return self._smallest(params, "high", start, limit)

    def hard_n(self, params: Mapping[str, float], *, start: int = 1, limit: int = 10**7) -> int | None:
        """Smallest n at which the hardest known law's failure `low` is <= delta (bisected, assuming it falls with
        n; parity can make it a sawtooth of about 1%): fewer samples fail on that law, so the true smallest
        sufficient n is at least about this."""
        return self._smallest(params, "low", start, limit)


_REGISTRY: dict[str, Reference] = {}
_LOADED = False


def register_problem(
    name: str,
    draw: Draw | None = None,
    laws: Laws | None = None,
    *,
    description: str = "",
    exact: Callable[[int, Mapping[str, float], str], Failure | None] | None = None,
    beat: Draw | None = None,
    points: Sequence[Mapping[str, float]] | None = None,
    power: float = POWER,
    time_limit: float = TIME_LIMIT,
    seed: int = 0,
    exact_at: Sequence[str] = (),
    high_scope: str = "",
    replace: bool = False,
) -> Reference:
    """Declare a problem, so that `check_bound` checks the validity of every explicit bound whose `problem` is
    `name`: by Monte Carlo under `laws` (with `draw`), and by `exact` where given.

    Args:
        name: the problem's name, as bounds give it in their `problem` field.
        draw: draw(rng, n, law, trials, **params) -> the estimator's error on `trials` independent samples of
            size n under `law`, an array of shape [trials]. params are the point's parameters (eps, delta, m, V,
            l, d); a failure is an error >= eps.
        laws: laws(**params) -> {label: law}: the candidate laws at a point, your guess at the worst cases; the
            label names the witness when a bound fails.
        description: one line on the estimator and the laws, shown in reports.
        exact: (n, params, side) -> Failure with a certified `low` (and `high` where known), or None where it
            does not apply; side is 'upper' or 'lower' (which kind of bound is being refuted).
        beat: like `draw`, for an estimator that should beat the problem's lower bounds (None: lower bounds are
            checked by `exact` only).
        points: where to check (default `theory.reference.POINTS`); each a dict with eps and delta at least.
        power: the power wanted against a failure rate of 2 delta, in (0, 1); sets the trials per test.
        time_limit: seconds for one bound's Monte-Carlo check (> 0).
        seed: random seed of the draws.
        exact_at: parameters that `exact` fixes when a bound does not take them (e.g. ("V",) where the exact
            worst case is computed at V = 2 only): looseness then says its certificate holds at those values.
        high_scope: where `exact`'s `high` holds if not for the whole family the problem's bounds speak about
            (e.g. one class of VC dimension d); such a `high` refutes lower bounds but certifies no looseness.
        replace: allow re-declaring a name that is already registered.

    Returns:
        The registered `Reference`.

    Raises:
        InputError: a bad argument, naming it and what is valid.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"name must be a non-empty string; got {name!r}")
    _load()
    if name in _REGISTRY and not replace:
        raise InputError(f"problem {name!r} is already registered; pass replace=True to re-declare it")
    if (draw is None) != (laws is None):
        raise InputError("draw and laws must be given together (a Monte-Carlo reference needs both)")
    if draw is None and exact is None:
        raise InputError("give draw and laws (Monte Carlo), exact, or both")
    for label, fn in (("draw", draw), ("laws", laws), ("exact", exact), ("beat", beat)):
        if fn is not None and not callable(fn):
            raise InputError(f"{label} must be callable; got {type(fn).__name__}")
    if beat is not None and draw is None:
        raise InputError("beat needs laws to search: give draw and laws too")
    if not (isinstance(power, (int, float)) and 0 < power < 1):
        raise InputError(f"power must be in (0, 1); got {power!r}")
    if not (isinstance(time_limit, (int, float)) and time_limit > 0 and math.isfinite(time_limit)):
        raise InputError(f"time_limit must be a positive number of seconds; got {time_limit!r}")
    chosen = tuple(dict(p) for p in (POINTS if points is None else points))
    if not chosen:
        raise InputError("points must hold at least one point")
    for p in chosen:
        for key in ("eps", "delta"):
            if key not in p:
                raise InputError(f"every point needs {key}; got {p}")
        for key, value in p.items():
            if key not in DOMAINS:
                raise InputError(f"unknown parameter {key!r} in a point; known: {', '.join(DOMAINS)}")
            DOMAINS[key].validate(value)
    mc = None if draw is None else MonteCarlo(draw, laws, beat, chosen, float(power), float(time_limit), seed)
    unknown = [k for k in exact_at if k not in DOMAINS]
    if unknown:
        raise InputError(f"exact_at names unknown parameter {unknown[0]!r}; known: {', '.join(DOMAINS)}")
    description = description or ("Monte Carlo over the declared laws" if mc else "exact")
    ref = Reference(name, description, exact, mc, tuple(exact_at), high_scope)
    _REGISTRY[name] = ref
    return ref


def _load() -> None:
    """Register the package's own problems (theory.problems) on first use, before any user's."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        import theory.problems  # noqa: F401  (registers through register_problem)


def reference_for(problem: str) -> Reference | None:
    """The reference of `problem`, or None when none is registered."""
    _load()
    return _REGISTRY.get(problem)


def problems() -> dict[str, Reference]:
    """Every registered problem's reference, by name (the package's and any a user declared)."""
    _load()
    return dict(_REGISTRY)


def unregister_problem(name: str) -> None:
    """Remove a registered problem (for tests and notebooks); unknown names are ignored."""
    _load()
    _REGISTRY.pop(name, None)


__all__ = [
    "ALPHA",
    "POINTS",
    "Evidence",
    "Failure",
    "MonteCarlo",
    "Reference",
    "count_failures",
    "power",
    "problems",
    "rate_test",
    "reference_for",
    "register_problem",
    "trials_for",
    "unregister_problem",
]
