"""The `Bound` object: one uniform interface over every sample-complexity bound.

A bound is a sympy expression for a sample size n(eps, delta, m, V, l, d) -- sufficient for an upper bound,
necessary for a lower bound -- with its provenance, validity conditions and a checked derivation. Numeric
evaluation goes through `sympy.lambdify` on numpy arrays (one compiled function per bound, vectorized over
parameter points), with ln(2^V - 2) rewritten as V ln 2 + log1p(-2^(1-V)) so that V = 50000 does not overflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import sympy as sp
from scipy.optimize import elementwise
from sympy.codegen.cfunctions import log1p

from theory.derivation import Derivation
from theory.symbols import DOMAINS, SYMBOLS, Domain, InputError, V, eps, n

ArrayLike = float | int | np.ndarray


class ValidityError(InputError):
    """The parameters are in their domains, but outside the conditions under which this bound holds."""


class MissingConstant(InputError):
    """A bound whose universal constant is not known was evaluated without passing that constant."""


@dataclass(frozen=True)
class Citation:
    """Where a bound comes from: a BibTeX key (in docs/references.bib) and a reference with its locator."""

    key: str
    reference: str
    locator: str

    def __str__(self) -> str:
        return f"{self.reference}, {self.locator}"


@dataclass(frozen=True)
class Condition:
    """A validity condition, as a sympy relation in the shared symbols, with the reason it is needed."""

    relation: sp.Basic
    reason: str

    def __str__(self) -> str:
        return sp.sstr(self.relation).replace("epsilon", "eps")


LARGE = {SYMBOLS[p] for p in ("m", "V", "l", "d")}


def stable(expr: sp.Expr) -> sp.Expr:
    """Rewrite `expr` for float evaluation without overflow or cancellation.

    ln(2^V - 2) = V ln 2 + log1p(-2^(1 - V)), exact for V >= 2, so that V = 50000 does not overflow; ln(1/a) =
    -ln(a), so that ln(1/(4 delta)) near delta = 1/4 keeps its relative accuracy (4 delta is exact in floats,
    1/(4 delta) is rounded). Logarithms of the integer parameters (which can be huge) are expanded so that their
    arguments cannot overflow; logarithms in eps and delta alone are left whole, where expanding ln(a/b) into
    ln a - ln b would cancel.
    """

    def rewrite(term: sp.Expr) -> sp.Expr:
        arg = term.args[0]
        if arg.free_symbols & LARGE:  # V^l, 2^V, m d ...: expand, or the argument overflows before the log
            return sp.expand_log(term, force=True)
        num, den = sp.fraction(sp.together(arg))
        return -sp.log(den) if num == 1 and den != 1 else term

    out = expr.replace(lambda e: isinstance(e, sp.log), rewrite)
    return out.replace(sp.log(2**V - 2), V * sp.log(2) + log1p(-(2 ** (1 - V))))


@dataclass(frozen=True, eq=False)
class Bound:
    """A sample-complexity bound n >= expr (sufficient if kind='upper', necessary if kind='lower').

    Parameters are passed by keyword: eps, delta (in (0, 1)); m, V, l, d (integers >= 1); and any named
    constant (e.g. C, default 1). Values may be numpy arrays; they broadcast together. A constant whose default
    is None has no value known to be valid (a lower bound's unspecified universal constant): it must be passed.
    """

    id: str
    title: str
    kind: Literal["upper", "lower"]
    source: Literal["paper", "standard"]
    metric: str
    expr: sp.Expr
    order: Literal["O", "Omega", "Theta"]
    rate: sp.Expr
    assumptions: tuple[str, ...]
    citation: Citation
    conditions: tuple[Condition, ...] = ()
    constants: Mapping[sp.Symbol, float | None] = field(default_factory=dict)
    provenance: str = ""
    problem: str = ""
    derive: Callable[[], Derivation] | None = None
    directions: Mapping[str, int] = field(default_factory=dict)

    # ---- structure -------------------------------------------------------------------------------------------
    @cached_property
    def parameters(self) -> tuple[str, ...]:
        """Keyword names of the shared parameters the expression depends on, in a fixed order."""
        free = self.expr.free_symbols | {s for c in self.conditions for s in c.relation.free_symbols}
        return tuple(name for name, sym in SYMBOLS.items() if sym in free and name != "n")

    @property
    def domains(self) -> dict[str, Domain]:
        """The domain of each parameter the bound takes (validity conditions may narrow it further)."""
        return {p: DOMAINS[p] for p in self.parameters}

    @property
    def monotone(self) -> dict[str, int]:
        """Declared direction of n in each parameter: -1 for eps and delta (more accuracy or confidence never
        needs fewer samples), +1 for m, V, l, d and constants; `directions` overrides."""
        conv = {p: -1 if p in ("eps", "delta") else 1 for p in self.parameters}
        conv |= {c.name: 1 for c in self.constants}
        return conv | dict(self.directions)

    @property
    def explicit(self) -> bool:
        """True when every constant is known (no unspecified big-O constant)."""
        return not self.constants

    @property
    def evaluable(self) -> bool:
        """True when every constant has a default, so `n()` runs without passing one."""
        return all(v is not None for v in self.constants.values())

    @property
    def required_constants(self) -> tuple[str, ...]:
        """Names of the constants that must be passed (no default is known to be valid)."""
        return tuple(c.name for c, v in self.constants.items() if v is None)

    @cached_property
    def _symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(SYMBOLS[p] for p in self.parameters) + tuple(self.constants)

    @cached_property
    def _n_func(self) -> Callable:
        return sp.lambdify(self._symbols, stable(self.expr), "numpy")

    @cached_property
    def _condition_funcs(self) -> tuple[Callable, ...]:
        return tuple(sp.lambdify(self._symbols, c.relation, "numpy") for c in self.conditions)

    # ---- evaluation ------------------------------------------------------------------------------------------
    def _arguments(self, params: Mapping[str, object], skip: tuple[str, ...] = ()) -> list[np.ndarray]:
        """Validate keyword parameters and return the argument arrays for the lambdified functions, broadcast."""
        const_names = {c.name: c for c in self.constants}
        unknown = sorted(set(params) - set(SYMBOLS) - set(const_names))
        if unknown:
            allowed = ", ".join(list(self.parameters) + list(const_names))
            raise InputError(f"unknown parameter {unknown[0]!r} for {self.id}; it takes {allowed}")
        values = {k: DOMAINS[k].validate(v) for k, v in params.items() if k in SYMBOLS}
        for k, v in params.items():
            if k in const_names:
                values[k] = _positive_constant(k, v)
        missing = [p for p in self.parameters if p not in values and p not in skip]
        if missing:
            raise InputError(f"{self.id} needs parameter {missing[0]!r} ({DOMAINS[missing[0]].describe()})")
        required = [c for c in self.required_constants if c not in values]
        if required:
            raise MissingConstant(
                f"{self.id} needs {required[0]}: a universal constant its source does not give, so no default is "
                f"known to be valid; pass it by keyword ({required[0]}=...)"
            )
        args = [values.get(p) for p in self.parameters]
        args += [values.get(c.name, np.float64(default)) for c, default in self.constants.items()]
        present = [a for a in args if a is not None]
        shaped = iter(np.broadcast_arrays(*present))
        return [None if a is None else next(shaped) for a in args]

    def violations(self, **params: object) -> list[str]:
        """The validity conditions that fail at `params` (empty when the bound applies). Domains are enforced.

        Args:
            **params: the bound's parameters by keyword name (its `parameters`): eps and delta in (0, 1); m, V,
                l, d integers >= 1; a big-O constant such as C > 0 by its name (default from the bound). Scalars
                or broadcastable arrays.

        Returns:
            One message per failing condition, naming it and its reason.

        Raises:
            InputError: (a ValueError) a parameter outside its domain (theory.symbols.DOMAINS), an unknown or a
                missing one; MissingConstant (a subclass) for a required constant not passed.
        """
        args = self._arguments(params)
        return self._violations(args)

    def _violations(self, args: list[np.ndarray]) -> list[str]:
        out = []
        for cond, func in zip(self.conditions, self._condition_funcs, strict=True):
            if not np.all(func(*args)):
                out.append(f"{self.id} requires {cond} ({cond.reason})")
        return out

    def n(self, **params: object) -> ArrayLike:
        """The sample size: sufficient (upper) or necessary (lower) number of examples at `params`.

        Args:
            **params: the bound's parameters by keyword name (its `parameters`): eps and delta in (0, 1); m, V,
                l, d integers >= 1; a big-O constant such as C > 0 by its name (default from the bound). Scalars
                or broadcastable arrays.

        Returns:
            The real-valued expression (the integer sample size is its ceiling); a float for scalar input, an
                array for array input.

        Raises:
            ValueError: a parameter outside its domain, an unknown or a missing one (InputError), or a required
                constant not passed (MissingConstant).
            ValidityError: where the bound's validity conditions fail.
        """
        args = self._arguments(params)
        bad = self._violations(args)
        if bad:
            raise ValidityError(bad[0])
        # n beyond float64 (e.g. V^l, or 1/eps^2 at eps = 1e-300, where eps^2 underflows to 0) is inf, which is the
        # right float; log10_n gives its magnitude
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            value = np.asarray(self._n_func(*args), dtype=np.float64)
        if np.any(np.isnan(value)):  # inf - inf or 0 x inf between terms beyond the float range
            raise OverflowError(f"{self.id}: n is beyond floats at {params} (inf - inf); log10_n gives it")
        return _unwrap(value)

    def magnitude(self, **params: float) -> tuple[float | None, float]:
        """(n, log10 n) at scalar `params`: n as a float, or None where it is beyond float64 (then log10 n is
        evaluated in arbitrary precision, `log10_n`). JSON and tables show either; neither is ever inf or NaN short
        of n beyond 10^(1.8e308).

        Raises:
            As `n`.
        """
        try:
            value = float(self.n(**params))
        except OverflowError:  # terms beyond float64 that floats cannot combine
            value = math.inf
        if math.isfinite(value):
            return value, math.log10(value) if value > 0 else -math.inf
        return None, self.log10_n(**params)

    def log10_n(self, **params: float) -> float:
        """log10 of n at scalar `params`, evaluated in arbitrary precision (sympy's evalf, whose exponents have no
        range): the magnitude of a sample size beyond float64, where `n` is inf (inf again beyond 10^(1.8e308)).

        Raises:
            As `n`.
        """
        args = self._arguments(params)
        bad = self._violations(args)
        if bad:
            raise ValidityError(bad[0])
        point = {sym: sp.Float(float(a), 30) for sym, a in zip(self._symbols, args, strict=True) if a is not None}
        return float(sp.log(self.expr.subs(point).evalf(30), 10).evalf(30))

    # ---- inversion -------------------------------------------------------------------------------------------
    @cached_property
    def eps_closed_form(self) -> sp.Expr | None:
        """eps as a function of n, when sympy solves n = expr for eps uniquely; else None (numeric inversion)."""
        if eps not in self.expr.free_symbols or self.expr.has(sp.Max, sp.Min, sp.Piecewise):
            return None
        try:
            sols = sp.solve(sp.Eq(n, self.expr), eps)
        except (NotImplementedError, ValueError):
            return None
        # sympy keeps roots whose sign it cannot decide (ln(2^V - 2) < 0 for V = 1): keep the positive root,
        # judged at a valid point, and only elementary ones (numpy has no LambertW).
        point = {s: 3 for s in self.expr.free_symbols} | {n: 1000, SYMBOLS["delta"]: sp.Rational(1, 10)}
        sols = [s for s in sols if not s.has(sp.LambertW) and sp.N(s.subs(point)).is_positive]
        return sols[0] if len(sols) == 1 else None

    @cached_property
    def _eps_func(self) -> Callable | None:
        form = self.eps_closed_form
        if form is None:
            return None
        return sp.lambdify((n, *[s for s in self._symbols if s != eps]), stable(form), "numpy")

    @cached_property
    def eps_max(self) -> float:
        """The largest eps the bound speaks about: 1, or a tighter limit from an `eps <= c` validity condition."""
        limit = 1.0
        for cond in self.conditions:
            rel = cond.relation
            if isinstance(rel, (sp.LessThan, sp.StrictLessThan)) and rel.lhs == eps and rel.rhs.is_number:
                limit = min(limit, float(rel.rhs))
        return limit

    @cached_property
    def _eps_max_strict(self) -> bool:
        """True when eps_max comes from a strict condition (eps < c), which eps_max itself violates."""
        rels = [c.relation for c in self.conditions]
        return any(isinstance(r, sp.StrictLessThan) and r.lhs == eps and float(r.rhs) == self.eps_max for r in rels)

    def eps_at(self, n: ArrayLike, **params: object) -> ArrayLike:
        """The inverse: the accuracy eps that `n` samples guarantee (upper) or at least need (lower).

        Closed form where sympy solves the equation, vectorized root finding in ln(eps) otherwise
        (scipy.optimize.elementwise.find_root).

        Args:
            n: sample size(s), real > 0; scalar or array, broadcast against `params`.
            **params: the bound's other parameters (everything but eps), as in `n`.

        Returns:
            eps at each n, in (0, eps_max] (eps_max: 1 or the bound's own `eps <= c` condition); a float for
                scalar input, an array for array input.

        Raises:
            ValueError: (InputError) n too small for any eps in the bound's range, a parameter outside its domain,
                unknown or missing, or eps passed (or a bound that does not depend on eps).
            ValidityError: where the bound's validity conditions fail at the eps found.
        """
        if "eps" not in self.parameters:
            raise InputError(f"{self.id} does not depend on eps, so it has no inverse in eps")
        if "eps" in params:
            raise InputError("eps_at solves for eps; do not pass eps")
        n_arr = DOMAINS["n"].validate(n)
        args = self._arguments(params, skip=("eps",))
        i = self.parameters.index("eps")
        n_arr, *rest = np.broadcast_arrays(n_arr, *[a for a in args if a is not None])
        args = [a if a is None else rest.pop(0) for a in args]
        ceiling = args.copy()
        ceiling[i] = np.full_like(n_arr, self.eps_max)
        with np.errstate(divide="ignore"):  # at an open edge (eps -> 1/2 in a KL) n may reach 0
            n_floor = np.asarray(self._n_func(*ceiling), dtype=np.float64)
        if np.any(n_arr < n_floor):
            j = np.flatnonzero(n_arr < n_floor)[0]
            raise InputError(
                f"n must be at least {n_floor.flat[j]:.6g} for {self.id} to speak about any eps <= "
                f"{self.eps_max:g} at these parameters; got {n_arr.flat[j]:.6g}"
            )
        if self._eps_func is not None:
            out = np.asarray(self._eps_func(n_arr, *[a for j, a in enumerate(args) if j != i]), dtype=np.float64)
        else:
            out = self._eps_numeric(n_arr, args, i)
        # n >= n(eps_max) was checked above, so eps <= eps_max exactly; clip the last-ulp rounding of exp/log
        # (one ulp below eps_max where the condition is strict, e.g. eps < 1/2).
        out = np.minimum(out, np.nextafter(self.eps_max, 0) if self._eps_max_strict else self.eps_max)
        args[i] = out
        bad = self._violations(args)
        if bad:
            raise ValidityError(bad[0])
        return _unwrap(out)

    def _eps_numeric(self, n_arr: np.ndarray, args: list, i: int) -> np.ndarray:
        def gap(log_eps: np.ndarray, n_target: np.ndarray, *rest: np.ndarray) -> np.ndarray:
            full = list(rest)
            full.insert(i, np.exp(log_eps))
            return np.log(self._n_func(*full)) - np.log(n_target)

        others = [a for j, a in enumerate(args) if j != i]
        # Lower end of the bracket: the largest of these eps whose n is finite and above the target.
        lo = np.full_like(n_arr, math.log(1e-150))
        with np.errstate(over="ignore"):
            for cand in np.log([1e-100, 1e-50, 1e-20, 1e-10, 1e-5, 1e-3, 1e-2]):
                value = gap(np.full_like(n_arr, cand), n_arr, *others)
                lo = np.where(np.isfinite(value) & (value > 0) & (cand < math.log(self.eps_max)), cand, lo)
        hi = np.full_like(n_arr, math.log(self.eps_max))
        with np.errstate(divide="ignore"):
            res = elementwise.find_root(gap, (lo, hi), args=(n_arr, *others), tolerances={"xrtol": 1e-15})
            x = np.where(gap(hi, n_arr, *others) == 0, hi, res.x)
        if not np.all(res.success | (x == hi)):
            raise InputError(f"eps_at could not invert {self.id} at these parameters (root finding failed)")
        return np.exp(x)

    # ---- presentation ----------------------------------------------------------------------------------------
    def latex(self) -> str:
        """The sample size as LaTeX: n >= expr (sufficient for an upper bound, necessary for a lower one)."""
        return r"n \geq " + sp.latex(self.expr, ln_notation=True)

    @property
    def order_text(self) -> str:
        return f"{self.order}({sp.sstr(self.rate).replace('epsilon', 'eps')})"

    def order_latex(self) -> str:
        head = {"O": r"\mathcal{O}", "Omega": r"\Omega", "Theta": r"\Theta"}[self.order]
        return head + r"\left(" + sp.latex(self.rate, ln_notation=True) + r"\right)"

    @cached_property
    def derivation(self) -> Derivation | None:
        """The checked chain from the tail inequality to this sample size, or None for a quoted theorem."""
        return None if self.derive is None else self.derive()

    def describe(self) -> dict:
        """Static metadata as plain JSON types."""
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "source": self.source,
            "metric": self.metric,
            "order": self.order_text,
            "latex": self.latex(),
            "citation": {"key": self.citation.key, "reference": str(self.citation)},
            "assumptions": list(self.assumptions),
            "conditions": [str(c) for c in self.conditions],
            "constants": {c.name: v for c, v in self.constants.items()},
            "parameters": list(self.parameters),
            "provenance": self.provenance,
        }

    def __repr__(self) -> str:
        return f"Bound({self.id!r}: n >= {sp.sstr(self.expr)})"


def _positive_constant(name: str, value: object) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
        if isinstance(value, (str, bytes, bool)) or not np.all(np.isfinite(arr) & (arr > 0)):
            raise ValueError
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a real number in (0, inf); got {value!r}") from None
    return arr


def _unwrap(x: np.ndarray) -> ArrayLike:
    return float(x) if x.ndim == 0 else x


__all__ = ["Bound", "Citation", "Condition", "MissingConstant", "ValidityError"]
