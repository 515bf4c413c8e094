"""Property-based testing of bounds with hypothesis: strategies drawn from a bound's declared domains and a
battery of properties every sample-complexity bound should satisfy.

Test your own bound in three lines::

    from theory.testing import check_bound

    def test_my_bound():
        check_bound(my_bound)

`check_bound` runs every property, collects the failures and raises one `BoundCheckError` that names each failed
property with hypothesis's shrunk counterexample. Profiles: `ci` (fast, derandomized) and `thorough`, chosen by
the environment variable ICLVERIFY_HYPOTHESIS_PROFILE (default `ci`); see `load_profile`.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from theory.bound import Bound, Condition, ValidityError, stable
from theory.reference import Evidence, bound_at, reference_for
from theory.symbols import SYMBOLS, InputError

# ---- profiles --------------------------------------------------------------------------------------------------
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
# Registered under the package's own names, so that a user's profiles called `ci` or `thorough` are left alone.
PROFILES = {"ci": "iclverify-ci", "thorough": "iclverify-thorough"}
settings.register_profile(PROFILES["ci"], max_examples=30, derandomize=True, database=None, **_COMMON)
settings.register_profile(PROFILES["thorough"], max_examples=600, **_COMMON)
PROFILE_ENV = "ICLVERIFY_HYPOTHESIS_PROFILE"


def load_profile(name: str | None = None) -> str:
    """Load the package's hypothesis profile `name` ('ci' or 'thorough'; registered as 'iclverify-ci' and
    'iclverify-thorough'), else $ICLVERIFY_HYPOTHESIS_PROFILE, else 'ci'. Returns the short name."""
    name = name or os.environ.get(PROFILE_ENV, "ci")
    if name not in PROFILES:
        raise InputError(f"{PROFILE_ENV} must be 'ci' or 'thorough'; got {name!r}")
    settings.load_profile(PROFILES[name])
    return name


# ---- strategies ------------------------------------------------------------------------------------------------
#: Ranges drawn by default: the domains, cut to values whose sample sizes stay finite in float64.
PRACTICAL: dict[str, tuple[float, float]] = {
    "eps": (1e-6, 1.0),
    "delta": (1e-30, 1.0),
    "m": (1, 10**6),
    "V": (1, 10**5),
    "l": (1, 10**4),
    "d": (1, 10**6),
}
CONSTANT_RANGE = (1e-3, 1e3)


def _range(bound: Bound, name: str) -> tuple[float, float]:
    """PRACTICAL range of `name`, narrowed by the bound's simple conditions (`x <= c`, `x >= c`)."""
    lo, hi = PRACTICAL[name]
    sym = SYMBOLS[name]
    for cond in bound.conditions:
        rel = cond.relation
        if not isinstance(rel, sp.core.relational.Relational) or rel.lhs != sym or not rel.rhs.is_number:
            continue
        if isinstance(rel, (sp.LessThan, sp.StrictLessThan)):
            hi = min(hi, float(rel.rhs))
        elif isinstance(rel, (sp.GreaterThan, sp.StrictGreaterThan)):
            lo = max(lo, float(rel.rhs))
    return lo, hi


def _log_uniform(lo: float, hi: float, *, open_hi: bool) -> st.SearchStrategy[float]:
    plain = st.floats(lo, hi, exclude_max=open_hi)
    spread = st.floats(math.log(lo), math.log(hi)).map(math.exp).filter(lambda x: lo <= x < hi or x == lo)
    return st.one_of(plain, spread)


def param_strategy(bound: Bound, name: str) -> st.SearchStrategy:
    """Valid values of one parameter (or constant) of `bound`."""
    if name in PRACTICAL:
        lo, hi = _range(bound, name)
        if bound.domains[name].integer:
            return st.integers(math.ceil(lo), math.floor(hi))
        return _log_uniform(lo, hi, open_hi=hi == 1.0)
    return _log_uniform(*CONSTANT_RANGE, open_hi=False)


def valid_params(bound: Bound, *, constants: bool = True) -> st.SearchStrategy[dict[str, float]]:
    """Parameter dicts inside the bound's domains and validity conditions."""
    names = list(bound.parameters) + [c.name for c in bound.constants if constants or bound.constants[c] is None]
    base = st.fixed_dictionaries({p: param_strategy(bound, p) for p in names})
    return base.filter(lambda ps: not bound.violations(**ps))


_INVALID_COMMON = [float("nan"), float("inf"), -float("inf"), "0.5", None, True]


def invalid_value(name: str) -> st.SearchStrategy:
    """Values outside the domain of parameter `name`: out of range, non-integer, non-finite or not a number."""
    if name in ("eps", "delta"):
        numeric = st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0), st.just(0), st.just(1))
    else:
        numeric = st.one_of(st.integers(max_value=0), st.floats(0.01, 1e6).filter(lambda x: x != round(x)))
    return st.one_of(
        numeric.filter(lambda x: not (isinstance(x, float) and math.isnan(x))), st.sampled_from(_INVALID_COMMON)
    )


def invalid_params(bound: Bound) -> st.SearchStrategy[tuple[dict, str]]:
    """(params, name): valid params with parameter `name` replaced by a value outside its domain."""
    if not bound.parameters:
        return st.nothing()

    def swap(ps: dict) -> st.SearchStrategy[tuple[dict, str]]:
        return st.sampled_from(bound.parameters).flatmap(
            lambda name: invalid_value(name).map(lambda bad: (ps | {name: bad}, name))
        )

    return valid_params(bound, constants=False).flatmap(swap)


# ---- the battery -----------------------------------------------------------------------------------------------
class BoundCheckError(AssertionError):
    """One or more properties failed; the message lists each with its (shrunk) counterexample."""


@dataclass(frozen=True)
class Property:
    name: str
    doc: str
    run: Callable[[Bound, _Ctx], None]


def _fmt(ps: Mapping) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in ps.items())


@dataclass(frozen=True)
class _Ctx:
    against: tuple[Bound, ...]
    settings: settings
    notes: dict = field(default_factory=dict)  # what a property learned for the report (the Monte-Carlo evidence)


def _given(ctx: _Ctx, strategy: st.SearchStrategy, test: Callable) -> None:
    ctx.settings(given(strategy)(test))()


def _finite_positive(bound: Bound, ctx: _Ctx) -> None:
    def test(ps):
        value = bound.n(**ps)
        if value == np.inf and _exact_value(bound, ps) > np.finfo(np.float64).max:
            return  # the true n is beyond float64 (e.g. V^l): inf is the right float
        assert np.isfinite(value) and value > 0, f"n({_fmt(ps)}) = {value!r} is not finite and positive"

    _given(ctx, valid_params(bound), test)


def _monotone(bound: Bound, ctx: _Ctx) -> None:
    names = list(bound.monotone)

    def pairs(ps):
        return st.sampled_from(names).flatmap(lambda p: param_strategy(bound, p).map(lambda v: (ps, p, v)))

    def test(case):
        ps, p, other = case
        qs = ps | {p: other}
        if bound.violations(**qs):
            return
        lo, hi = sorted([ps, qs], key=lambda x: x[p])
        n_lo, n_hi = bound.n(**lo), bound.n(**hi)
        sign = bound.monotone[p]
        ok = (n_hi >= n_lo * (1 - 1e-12)) if sign > 0 else (n_hi <= n_lo * (1 + 1e-12))
        word = "increase" if sign < 0 else "decrease"
        assert ok, (
            f"n must not {word} as {p} grows (declared direction {sign:+d}): "
            f"n({_fmt(lo)}) = {n_lo!r} but n({_fmt(hi)}) = {n_hi!r}"
        )

    _given(ctx, valid_params(bound).flatmap(pairs), test)


# ---- order: the declared rate against the expression, along single and joint limits ----------------------------
# Each parameter goes to its limit on a scale s: 1/eps = s, ln(1/delta) = s, m = V = l = d = s. Along a path (one
# parameter, or two together on the diagonal, the others held at drawn values) the ratio expr / rate is computed
# in mpmath at s = 1e1000, 1e10000, 1e100000, the parameters off the path drawn from ORDER_RANGES. A ratio bounded
# above and below changes by a factor near 1 over that range (ln s >= 2300 swamps every drawn value, so sums such
# as V + ln(m/delta) have settled); a missing or extra log factor changes it by about 100 (ln s grows 100-fold), a
# product declared as a sum by about 1e99000, even a ln ln factor by 1.6. Evaluated with 60 significant digits and
# arbitrary exponents (mpmath), so 2^V and V^l at V = 1e100000 are exact enough.
ORDER_SCALES = ("1e1000", "1e10000", "1e100000")
ORDER_FACTOR = 1.5  # largest change of expr / rate over the path accepted as "bounded"
_SCALING = ("eps", "delta", "m", "V", "l", "d")
# Rates are statements about small eps and delta: the parameters off the path are drawn in this regime.
ORDER_RANGES: dict[str, tuple[float, float]] = {
    "eps": (0.01, 0.5),
    "delta": (1e-30, 0.5),
    "m": (1, 100),
    "V": (1, 100),
    "l": (1, 100),
    "d": (1, 100),
}


def order_paths(bound: Bound) -> list[tuple[str, ...]]:
    """The limits the order check walks: each scaling parameter alone, then every pair together."""
    moving = [p for p in _SCALING if p in bound.parameters]
    return [(p,) for p in moving] + list(itertools.combinations(moving, 2))


_INV_EPS, _LOG_INV_DELTA = sp.Symbol("E", positive=True), sp.Symbol("L", positive=True)


def _in_scales(expr: sp.Basic) -> sp.Basic:
    """expr with eps = 1/E and delta = exp(-L), logs expanded: ln(1/delta) becomes L exactly, so that
    delta = exp(-1e100000) is never formed (mpmath would need 1e5 digits to exponentiate it)."""
    delta = SYMBOLS["delta"]
    if isinstance(expr, sp.core.relational.Relational) and expr.lhs == delta and expr.rhs.is_number:
        expr = expr.func(-_LOG_INV_DELTA, sp.log(expr.rhs))  # delta <= c  <=>  -ln(1/delta) <= ln c
    out = expr.subs({SYMBOLS["eps"]: 1 / _INV_EPS, delta: sp.exp(-_LOG_INV_DELTA)})
    return stable(sp.expand_log(out, force=True)) if isinstance(out, sp.Expr) else out


@functools.lru_cache(maxsize=256)
def _mpmath_funcs(bound: Bound) -> tuple[list[str], Callable, list[Callable]]:
    names = list(bound.parameters) + [c.name for c in bound.constants]
    scaled = {"eps": _INV_EPS, "delta": _LOG_INV_DELTA}
    syms = [scaled.get(p, SYMBOLS[p]) for p in bound.parameters] + list(bound.constants)
    ratio = sp.lambdify(syms, _in_scales(bound.expr / bound.rate), "mpmath")
    return names, ratio, [sp.lambdify(syms, _in_scales(c.relation), "mpmath") for c in bound.conditions]


def _scale_value(name: str, value: float) -> mpmath.mpf:
    """A drawn parameter in the coordinates of `_in_scales`: 1/eps for eps, ln(1/delta) for delta."""
    x = mpmath.mpf(value)
    return {"eps": 1 / x, "delta": -mpmath.log(x)}.get(name, x)


def order_drift(bound: Bound, path: tuple[str, ...], params: Mapping[str, float]) -> float | None:
    """expr / rate at the last scale over the first, along `path` from `params` (None where conditions fail)."""
    names, ratio, conds = _mpmath_funcs(bound)
    values = []
    with mpmath.workdps(60):
        for scale in ORDER_SCALES:
            s = mpmath.mpf(scale)
            point = [s if k in path else _scale_value(k, params[k]) for k in names]
            if not all(bool(c(*point)) for c in conds):
                return None
            values.append(ratio(*point))
        return float(values[-1] / values[0])


def _order(bound: Bound, ctx: _Ctx) -> None:
    defaults = {c.name: v for c, v in bound.constants.items() if v is not None}
    paths = order_paths(bound)

    def test(ps):
        base = defaults | ps
        for path in paths:
            drift = order_drift(bound, path, base)
            if drift is None:
                continue
            grows, shrinks = drift > ORDER_FACTOR, drift < 1 / ORDER_FACTOR
            bad = {"Theta": grows or shrinks, "O": grows, "Omega": shrinks}[bound.order]
            what = "grows" if grows else "shrinks"
            hint = (
                "the declared rate misses a growing factor (a log, or a product declared as a sum)"
                if grows
                else ("the declared rate has a factor the expression lacks")
            )
            factor = f"{drift:.3g}" if 0 < drift < math.inf else ("more than 1e300" if grows else "less than 1e-300")
            together = f"{' and '.join(path)} go to the limit together"
            moves = f"{path[0]} goes to its limit" if len(path) == 1 else together
            assert not bad, (
                f"declared {bound.order_text} but n / rate {what} by a factor {factor} as {moves} (scale "
                f"{ORDER_SCALES[0]} -> {ORDER_SCALES[-1]}; at {_fmt(ps)}): {hint}"
            )

    _given(ctx, _ranged_params(bound, ORDER_RANGES, constants=True), test)


def _round_trip(bound: Bound, ctx: _Ctx) -> None:
    if "eps" not in bound.parameters:
        return

    def test(ps):
        rest = {k: v for k, v in ps.items() if k != "eps"}
        value = bound.n(**ps)
        if not np.isfinite(value):
            return  # beyond float64 (e.g. V^l): nothing to invert
        back = bound.eps_at(value, **rest)
        assert math.isclose(back, ps["eps"], rel_tol=1e-6), f"eps_at(n(eps)) = {back!r} != eps at {_fmt(ps)}"

    _given(ctx, valid_params(bound), test)


def _exact_value(bound: Bound, ps: Mapping) -> float:
    """The expression evaluated by sympy in exact arithmetic (30 digits), as a float (inf beyond float64)."""
    consts = {c.name: c for c in bound.constants}
    subs = {SYMBOLS[k] if k in SYMBOLS else consts[k]: sp.Rational(v) for k, v in ps.items()}
    return float(bound.expr.evalf(30, subs=subs))


def _exact(bound: Bound, ctx: _Ctx) -> None:
    def test(ps):
        exact = _exact_value(bound, ps)
        value = bound.n(**ps)
        assert math.isclose(value, exact, rel_tol=1e-9), f"numeric n = {value!r}, sympy {exact!r} at {_fmt(ps)}"

    _given(ctx, valid_params(bound), test)


def _rejects_invalid(bound: Bound, ctx: _Ctx) -> None:
    def test(case):
        ps, name = case
        try:
            bound.n(**ps)
        except ValueError as err:
            assert str(err).startswith(name), f"error for bad {name} does not name it: {err}"
            return
        raise AssertionError(f"accepted {name}={ps[name]!r} (outside its domain) at {_fmt(ps)}")

    _given(ctx, invalid_params(bound), test)
    for cond in bound.conditions:  # each validity condition, violated, raises ValidityError
        _given(ctx, _violating(bound, cond), _expect_validity_error(bound, cond))


def _violating(bound: Bound, cond: Condition) -> st.SearchStrategy[dict]:
    """Parameters in their domains that violate `cond`."""
    draws = {
        p: st.integers(1, 10**4) if bound.domains[p].integer else st.floats(1e-6, 1.0, exclude_max=True)
        for p in bound.parameters
    }
    required = {c: st.just(1.0) for c in bound.required_constants}  # any value: conditions do not involve them
    return st.fixed_dictionaries(draws | required).filter(
        lambda ps: not bool(cond.relation.subs({SYMBOLS[k]: v for k, v in ps.items() if k in SYMBOLS}))
    )


def _expect_validity_error(bound: Bound, cond: Condition) -> Callable[[dict], None]:
    def test(ps):
        try:
            bound.n(**ps)
        except ValidityError:
            return
        raise AssertionError(f"accepted {_fmt(ps)}, which violates {cond}")

    return test


def partners(bound: Bound, against: Iterable[Bound]) -> list[Bound]:
    """Bounds of the opposite kind on the same problem that can be compared with `bound`: explicit upper bounds
    (an unspecified constant is no guarantee) against lower bounds evaluable as shipped (explicit, or with
    default constants, which must then be valid)."""

    def comparable(b: Bound) -> bool:
        return b.explicit if b.kind == "upper" else b.evaluable

    if not comparable(bound):
        return []
    return [b for b in against if b.problem == bound.problem and b.kind != bound.kind and comparable(b)]


def _lower_le_upper(bound: Bound, ctx: _Ctx) -> None:
    for other in partners(bound, ctx.against):
        _compare(ctx, *((bound, other) if bound.kind == "lower" else (other, bound)))


def _compare(ctx: _Ctx, lower: Bound, upper: Bound) -> None:
    names = sorted(set(lower.parameters) | set(upper.parameters))
    joint = st.fixed_dictionaries(
        {p: param_strategy(lower if p in lower.parameters else upper, p) for p in names}
    ).filter(lambda ps: not lower.violations(**_only(lower, ps)) and not upper.violations(**_only(upper, ps)))

    def test(ps):
        lo, up = lower.n(**_only(lower, ps)), upper.n(**_only(upper, ps))
        assert lo <= up * (1 + 1e-12), f"lower {lower.id} = {lo!r} exceeds upper {upper.id} = {up!r} at {_fmt(ps)}"

    _given(ctx, joint, test)


def _only(bound: Bound, ps: Mapping) -> dict:
    return {k: v for k, v in ps.items() if k in bound.parameters}


# ---- validity against the problem's reference ------------------------------------------------------------------
#: Ranges the validity check draws from: small enough for exact tails and inclusion-exclusion to be quick.
REFERENCE_RANGES: dict[str, tuple[float, float]] = {
    "eps": (0.03, 0.49),
    "delta": (1e-9, 0.49),
    "m": (1, 30),
    "V": (2, 2),
    "l": (1, 3),
    "d": (1, 40),
}
#: Deterministic points checked before the random draws: small delta is where a too-small constant shows.
PROBES: tuple[dict[str, float], ...] = tuple(
    {"eps": e, "delta": dl, "m": m_, "V": 2, "l": 1, "d": d_}
    for e, dl, m_, d_ in [
        (0.1, 1e-6, 5, 4),
        (0.1, 0.05, 2, 1),
        (0.25, 1e-3, 10, 10),
        (0.05, 1e-2, 3, 2),
        (0.2, 1e-8, 20, 20),
        (0.1, 0.01, 1, 1),
    ]
)
N_CAP = 200_000  # the exact references are O(n); larger sizes are skipped
MC_LOOSENESS_TRIALS = 4000  # trials per law when a Monte-Carlo reference estimates the smallest sufficient n
LOOSENESS_POINT = {"eps": 0.1, "delta": 0.01, "m": 2, "V": 2, "l": 1, "d": 2}


def _ranged_params(
    bound: Bound, ranges: Mapping[str, tuple[float, float]], *, constants: bool = False
) -> st.SearchStrategy[dict[str, float]]:
    """Valid parameters of `bound` drawn from `ranges` (narrowed by its simple conditions)."""
    draws = {}
    for p in bound.parameters:
        lo, hi = max(ranges[p][0], _range(bound, p)[0]), min(ranges[p][1], _range(bound, p)[1])
        draws[p] = (
            st.integers(math.ceil(lo), math.floor(hi))
            if bound.domains[p].integer
            else _log_uniform(lo, hi, open_hi=True)
        )
    for c, default in bound.constants.items():
        if constants or default is None:
            draws[c.name] = param_strategy(bound, c.name)
    return st.fixed_dictionaries(draws).filter(lambda ps: not bound.violations(**ps))


def validity_failure(bound: Bound, params: Mapping[str, float]) -> str | None:
    """Why `bound` is false at `params` according to its problem's exact reference, or None when no contradiction
    (or no exact reference applies there; the Monte-Carlo reference is `monte_carlo_evidence`).

    Upper bound: the worst-case failure at its own n exceeds delta (certified `low`). Lower bound: at the largest
    integer below its n, the reference estimator's certified worst case is already below delta.
    """
    ref = reference_for(bound.problem)
    if ref is None or ref.exact is None or not bound.explicit:
        return None
    if bound.violations(**_only(bound, params)):
        return None
    value = bound.n(**_only(bound, params))
    # A parameter the bound does not take (V for a V-free bound) is one the bound holds for whatever its value.
    params = {"V": 2, "m": 1, "l": 1, "d": 1} | dict(params)
    shown = ("eps", "delta", "V") if bound.problem in ("tv-distribution", "linf-distribution") else ("eps", "delta")
    ps = _only(bound, params) | {k: params[k] for k in shown if k in params}  # what the message names
    delta = params["delta"]
    if bound.kind == "upper":
        n_b = math.ceil(value)
        if n_b > N_CAP:
            return None
        f = ref.failure(n_b, params, "upper")
        if f is not None and f.low > delta * (1 + 1e-9):
            return (
                f"invalid upper bound: at {_fmt(ps)} its n = {n_b} leaves a failure probability {f.low:.4g} > "
                f"delta = {delta:g} ({f.witness}; {f.method})"
            )
        return None
    below = math.ceil(value) - 1
    if below < 1 or below > N_CAP:
        return None
    f = ref.failure(below, params, "lower")
    if f is not None and f.high is not None and f.high < delta:
        return (
            f"false lower bound: at {_fmt(ps)} it says n >= {value:.6g} is necessary, but {below} samples already "
            f"give worst-case failure <= {f.high:.4g} < delta = {delta:g} ({ref.description})"
        )
    return None


def monte_carlo_evidence(bound: Bound) -> Evidence | None:
    """The Monte-Carlo validity check of an explicit `bound` on its problem's declared laws and points, or None
    where the problem has no Monte-Carlo reference (see `theory.reference`)."""
    ref = reference_for(bound.problem)
    if ref is None or ref.monte_carlo is None or not bound.explicit:
        return None
    return ref.monte_carlo.evidence(bound, ref.problem)


def _valid(bound: Bound, ctx: _Ctx) -> None:
    ref = reference_for(bound.problem)
    if ref is None or not bound.explicit:
        return
    evidence = monte_carlo_evidence(bound)
    if evidence is not None:
        ctx.notes["monte_carlo"] = evidence
        assert evidence.false is None, evidence.false
    if ref.exact is None or "delta" not in bound.parameters:
        return
    for probe in PROBES:
        try:
            why = validity_failure(bound, probe)
        except ValidityError:
            continue
        assert why is None, why

    def test(ps):
        why = validity_failure(bound, ps)
        assert why is None, why

    _given(ctx, _ranged_params(bound, REFERENCE_RANGES), test)


def looseness(bound: Bound, params: Mapping[str, float] | None = None) -> dict | None:
    """How loose a valid explicit upper bound is: its n over the smallest sufficient n, at `params` (default
    LOOSENESS_POINT; for a problem with a Monte-Carlo reference only, its first declared point the bound applies at).

    Returns None where nothing applies, else a dict with params, n, smallest_n, ratio = n / smallest_n, and basis:
    'certified' (smallest_n is where the certified worst case `high` reaches delta, and the hardest known law
    agrees), 'bracketed' (the true smallest n lies between hard_n, from the hardest known law, and smallest_n, from
    the certified `high`: the ratio is between `ratio` and `ratio_max`), 'hardest known law' (no certified worst
    case: smallest_n is the hardest known law's, so the ratio is an upper bound on the slack), or 'Monte Carlo'
    (estimated over the declared laws).
    """
    ref = reference_for(bound.problem)
    if ref is None or not bound.explicit or bound.kind != "upper":
        return None
    if ref.exact is None:
        return _looseness_monte_carlo(bound, ref.monte_carlo, params)
    point = {k: v for k, v in (params or LOOSENESS_POINT).items() if k in bound.parameters}
    try:
        n_b = math.ceil(bound.n(**point))
    except ValidityError:
        return None
    if n_b > N_CAP:
        return None
    full = dict(LOOSENESS_POINT) | dict(params or {})
    certified = None if ref.high_scope else ref.smallest_n(full)  # a `high` for one class certifies nothing here
    hard = ref.hard_n(full)
    if certified is None and hard is None:
        return None
    out = {"params": point, "n": n_b}
    fixed = {k: full[k] for k in ref.exact_at if k not in bound.parameters}
    if fixed:
        out["reference_at"] = fixed
    if certified is None:
        return out | {"smallest_n": hard, "ratio": n_b / hard, "basis": "hardest known law"}
    out |= {"smallest_n": certified, "ratio": n_b / certified, "basis": "certified"}
    if hard is not None and hard < 0.95 * certified:  # the binomial cells leave a few percent between the two
        out |= {"basis": "bracketed", "hard_n": hard, "ratio_max": n_b / hard}
    return out


def _looseness_monte_carlo(bound: Bound, mc, params: Mapping[str, float] | None) -> dict | None:
    for point in [params] if params else mc.points:
        at = bound_at(bound, point)
        if isinstance(at, str):
            continue
        ps, n_b = at[0], math.ceil(at[1])
        trials = MC_LOOSENESS_TRIALS
        smallest = mc.smallest_n(point, trials=trials, limit=max(4 * n_b, 16))
        if smallest is None:
            return None
        return {"params": ps, "n": n_b, "smallest_n": smallest, "ratio": n_b / smallest, "basis": "Monte Carlo",
                "trials": trials}
    return None


def describe_looseness(lo: Mapping) -> str:
    """One line for a `looseness` dict."""
    line = _looseness_line(lo)
    if lo.get("reference_at"):
        line += f" (worst case over the laws at {_fmt(lo['reference_at'])} only)"
    return line


def _looseness_line(lo: Mapping) -> str:
    n, s = lo["n"], lo["smallest_n"]
    if lo["basis"] == "bracketed":
        return (f"n = {n} vs smallest sufficient n between {lo['hard_n']} (hardest known law) and {s} (certified): "
                f"ratio {lo['ratio']:.3g}-{lo['ratio_max']:.3g}")
    if lo["basis"] == "hardest known law":
        return (f"n = {n} vs {s}, the n the hardest known law needs (no certified worst case): ratio at most "
                f"{lo['ratio']:.3g}")
    if lo["basis"] == "Monte Carlo":
        return (f"n = {n} vs smallest sufficient n ~ {s} (Monte-Carlo estimate over the declared laws, "
                f"{lo['trials']} trials each): ratio ~ {lo['ratio']:.3g}")
    return f"n = {n} vs smallest sufficient n = {s} (ratio {lo['ratio']:.3g})"


PROPERTIES: tuple[Property, ...] = (
    Property("finite-positive", "n is finite and positive on the (practical) domain", _finite_positive),
    Property("monotone", "n moves in each parameter's declared direction", _monotone),
    Property("order", "the declared O/Omega/Theta rate matches the expression at extreme parameters", _order),
    Property("round-trip", "eps_at(n(eps)) == eps", _round_trip),
    Property("exact", "vectorized numeric evaluation equals sympy's exact evaluation", _exact),
    Property(
        "rejects-invalid",
        "bad parameters raise ValueError naming them; violated conditions raise ValidityError",
        _rejects_invalid,
    ),
    Property("lower-le-upper", "a lower bound never exceeds an explicit upper bound on its problem", _lower_le_upper),
    Property(
        "valid",
        "an explicit upper bound's n is enough, and a lower bound's n is needed, by the problem's exact or "
        "Monte-Carlo reference (theory.reference)",
        _valid,
    ),
)


@dataclass(frozen=True)
class CheckReport:
    """What `check_bound` ran on a bound that passed, and what it learned beyond pass/fail.

    Attributes:
        bound_id: the bound checked.
        properties: the names of the properties it ran and passed (see PROPERTIES).
        reference: the problem's reference, or why validity was not checked.
        looseness: how loose a valid explicit upper bound is (see `looseness`): a dict with params, n, smallest_n,
            ratio and basis, or None.
        monte_carlo: what the Monte-Carlo validity check did (points, laws, trials, power, level), or None.
    """

    bound_id: str
    properties: tuple[str, ...]
    reference: str | None  # the problem's reference, or why validity was not checked
    looseness: dict | None  # n / smallest sufficient n (valid explicit upper bounds)
    monte_carlo: Evidence | None = None

    def __str__(self) -> str:
        lines = [f"{self.bound_id}: passed {', '.join(self.properties)}", f"  validity: {self.reference}"]
        if self.monte_carlo is not None:
            lines.append(f"  {self.monte_carlo}")
        if self.looseness:
            lines.append(f"  looseness at {_fmt(self.looseness['params'])}: {describe_looseness(self.looseness)}")
        return "\n".join(lines)


def _describe(err: BaseException) -> str:
    """One readable line per failure; hypothesis reports several distinct failures as an ExceptionGroup."""
    if isinstance(err, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in err.exceptions)
    return f"{type(err).__name__}: {err}"


def _reference_note(bound: Bound, evidence: Evidence | None) -> str:
    ref = reference_for(bound.problem)
    if ref is None:
        return f"no reference for problem {bound.problem!r}: not checked (declare one: theory.register_problem)"
    if not bound.explicit:
        return f"not checked: unspecified constant ({', '.join(c.name for c in bound.constants)}) is no guarantee"
    if ref.exact is None and (evidence is None or not evidence.tested):
        return f"NOT CHECKED: no Monte-Carlo test of {ref.description!r} applies or finished (see below)"
    return f"checked against {ref.description}"


def check_bound(
    bound: Bound,
    *,
    against: Iterable[Bound] | None = None,
    only: Iterable[str] | None = None,
    settings_: settings | None = None,
) -> CheckReport:
    """Run the property battery on `bound`; raise BoundCheckError listing every failed property.

    Where the bound's problem has a reference (`theory.reference`), an explicit bound is also checked for
    validity: an upper bound whose n leaves a failure probability above delta fails, with the parameters and
    the measured rate. Returns a `CheckReport` (with how loose a valid upper bound is) when everything passes.

    Args:
        bound: the bound to check (a catalogue bound or a user's).
        against: bounds to compare with in `lower-le-upper` (default: the catalogue).
        only: names of the properties to run (default: all; see PROPERTIES).
        settings_: hypothesis settings (default: the loaded profile, see `load_profile`).

    Returns:
        The report of what ran, with the validity reference used and how loose a valid upper bound is.

    Raises:
        BoundCheckError: listing every failed property, with a counterexample.
        InputError: an unknown property name.
    """
    from theory.catalogue import catalogue

    pool = list(catalogue() if against is None else against)
    wanted = set(only) if only is not None else {p.name for p in PROPERTIES}
    unknown = wanted - {p.name for p in PROPERTIES}
    if unknown:
        raise InputError(f"unknown property {sorted(unknown)[0]!r}; known: {', '.join(p.name for p in PROPERTIES)}")
    failures, ran = [], []
    ctx = _Ctx(tuple(pool), settings_ or settings())
    for prop in PROPERTIES:
        if prop.name not in wanted:
            continue
        ran.append(prop.name)
        try:
            prop.run(bound, ctx)
        except (AssertionError, HypothesisException, ValueError, ArithmeticError, ExceptionGroup) as err:
            failures.append(f"[{prop.name}] {_describe(err)}")
    if failures:
        count = f"{len(failures)} propert{'y' if len(failures) == 1 else 'ies'}"
        raise BoundCheckError(f"{bound.id} failed {count}:\n" + "\n".join(failures))
    loose = looseness(bound) if "valid" in wanted else None
    evidence = ctx.notes.get("monte_carlo")
    return CheckReport(bound.id, tuple(ran), _reference_note(bound, evidence), loose, evidence)
