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

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from theory.bound import Bound, Condition, ValidityError
from theory.symbols import SYMBOLS

# ---- profiles --------------------------------------------------------------------------------------------------
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
settings.register_profile("ci", max_examples=30, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=600, **_COMMON)
PROFILE_ENV = "ICLVERIFY_HYPOTHESIS_PROFILE"


def load_profile(name: str | None = None) -> str:
    """Load a hypothesis profile: `name`, else $ICLVERIFY_HYPOTHESIS_PROFILE, else `ci`. Returns the name."""
    name = name or os.environ.get(PROFILE_ENV, "ci")
    if name not in ("ci", "thorough"):
        raise ValueError(f"{PROFILE_ENV} must be 'ci' or 'thorough'; got {name!r}")
    settings.load_profile(name)
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
    names = list(bound.parameters) + ([c.name for c in bound.constants] if constants else [])
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


def _given(ctx: _Ctx, strategy: st.SearchStrategy, test: Callable) -> None:
    ctx.settings(given(strategy)(test))()


def _finite_positive(bound: Bound, ctx: _Ctx) -> None:
    def test(ps):
        value = bound.n(**ps)
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


# Extreme values for the order check, evaluated in mpmath (arbitrary exponent range, far beyond float64), and
# the scale in which each rate is polynomial: 1/eps, ln(1/delta), the integers themselves. The ranges are wide
# enough for the transients of sum-type rates such as V + ln(1/delta) to die out.
_EXTREMES = {"eps": ("1e-10", "1e-100"), "delta": ("1e-1000000", "1e-10000000000")}
_EXTREMES |= {p: ("1e10", "1e100") for p in ("m", "V", "l", "d")}
_SCALE = {"eps": lambda x: 1 / x, "delta": lambda x: mpmath.log(1 / x)}
# Rates are statements about small eps and delta: the other parameters are drawn in the regime eps, delta <= 1/2.
_ASYMPTOTIC_REGIME = {"eps": 0.5, "delta": 0.5}
ORDER_TOLERANCE = 0.1  # largest exponent mismatch between expr and rate accepted at the extremes


def _order(bound: Bound, ctx: _Ctx) -> None:
    names = list(bound.parameters) + [c.name for c in bound.constants]
    syms = [SYMBOLS[p] for p in bound.parameters] + list(bound.constants)
    ratio = sp.lambdify(syms, bound.expr / bound.rate, "mpmath")
    conds = [sp.lambdify(syms, c.relation, "mpmath") for c in bound.conditions]
    defaults = {c.name: v for c, v in bound.constants.items()}

    def test(ps):
        base = defaults | ps
        for p in bound.parameters:
            with mpmath.workdps(50):
                near, far = ([mpmath.mpf(x if k == p else base[k]) for k in names] for x in _EXTREMES[p])
                if not all(bool(c(*near)) and bool(c(*far)) for c in conds):
                    continue
                scale = _SCALE.get(p, lambda x: x)
                i = names.index(p)
                gap = mpmath.log(ratio(*far) / ratio(*near)) / mpmath.log(scale(far[i]) / scale(near[i]))
                mismatch = float(gap)
            ok = {
                "Theta": abs(mismatch) <= ORDER_TOLERANCE,
                "O": mismatch <= ORDER_TOLERANCE,
                "Omega": mismatch >= -ORDER_TOLERANCE,
            }[bound.order]
            assert ok, (
                f"declared {bound.order_text} but n / rate changes like ({p}-scale)^{mismatch:+.3f} as {p} goes "
                f"from {_EXTREMES[p][0]} to {_EXTREMES[p][1]} (at {_fmt(ps)}; tolerance {ORDER_TOLERANCE})"
            )

    regime = valid_params(bound).filter(lambda ps: all(ps.get(k, 0) <= v for k, v in _ASYMPTOTIC_REGIME.items()))
    _given(ctx, regime, test)


def _round_trip(bound: Bound, ctx: _Ctx) -> None:
    if "eps" not in bound.parameters:
        return

    def test(ps):
        rest = {k: v for k, v in ps.items() if k != "eps"}
        back = bound.eps_at(bound.n(**ps), **rest)
        assert math.isclose(back, ps["eps"], rel_tol=1e-6), f"eps_at(n(eps)) = {back!r} != eps at {_fmt(ps)}"

    _given(ctx, valid_params(bound), test)


def _exact(bound: Bound, ctx: _Ctx) -> None:
    consts = {c.name: c for c in bound.constants}

    def test(ps):
        subs = {SYMBOLS[k] if k in SYMBOLS else consts[k]: sp.Rational(v) for k, v in ps.items()}  # exact
        exact = float(bound.expr.evalf(30, subs=subs))
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
    return st.fixed_dictionaries(draws).filter(
        lambda ps: not bool(cond.relation.subs({SYMBOLS[k]: v for k, v in ps.items()}))
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
    """Explicit bounds of the opposite kind on the same problem (unspecified constants cannot be compared)."""
    if not bound.explicit:
        return []
    return [b for b in against if b.problem == bound.problem and b.kind != bound.kind and b.explicit]


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
    Property("lower-le-upper", "a lower bound never exceeds an upper bound on the same problem", _lower_le_upper),
)


def check_bound(
    bound: Bound,
    *,
    against: Iterable[Bound] | None = None,
    only: Iterable[str] | None = None,
    settings_: settings | None = None,
) -> None:
    """Run the property battery on `bound`; raise BoundCheckError listing every failed property.

    against: bounds to compare with in `lower-le-upper` (default: the catalogue plus `bound`).
    only: names of the properties to run (default: all; see PROPERTIES).
    settings_: hypothesis settings (default: the loaded profile, see `load_profile`).
    """
    from theory.catalogue import catalogue

    pool = list(catalogue() if against is None else against)
    wanted = set(only) if only is not None else {p.name for p in PROPERTIES}
    unknown = wanted - {p.name for p in PROPERTIES}
    if unknown:
        raise ValueError(f"unknown property {sorted(unknown)[0]!r}; known: {', '.join(p.name for p in PROPERTIES)}")
    failures = []
    ctx = _Ctx(tuple(pool), settings_ or settings())
    for prop in PROPERTIES:
        if prop.name not in wanted:
            continue
        try:
            prop.run(bound, ctx)
        except (AssertionError, HypothesisException, ValueError, ArithmeticError) as err:
            failures.append(f"[{prop.name}] {type(err).__name__}: {err}")
    if failures:
        count = f"{len(failures)} propert{'y' if len(failures) == 1 else 'ies'}"
        raise BoundCheckError(f"{bound.id} failed {count}:\n" + "\n".join(failures))
