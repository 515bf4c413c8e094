"""A mutant suite: the mistakes real papers make, planted in catalogue bounds, and whether the battery catches them.

Each mutant changes one thing in one bound: a constant (x1/2, x1/4), ln(2/delta) <-> ln(1/delta), log2 <-> ln, the
TV = L1/2 conversion done the wrong way (n/4) or forgotten (n x 4), a dropped ln m or ln(1/eps) (in the formula or in
the declared rate), a product declared as a sum or the reverse, a lower bound's constant made too large (x8).

What a mutant *should* do is decided apart from the battery:

- ``misdeclared``: by construction the declared rate is wrong (a growing factor dropped from an O/Theta rate, a
  product declared where a Theta/Omega says sum, ...). Must be caught.
- ``false``: the mutated bound is false, shown by an exact reference (`theory.problems`) at a point of a fixed
  grid (GRID, independent of the battery's own draws), by its problem's Monte-Carlo reference at the problem's
  declared points, or, for a lower bound, by exceeding an explicit upper bound of its problem. Must be caught.
- ``conservative``: the mutation only makes an upper bound larger (or keeps a true declaration true). Must pass:
  catching it would be a false alarm.
- ``open``: smaller than the original, but no point of the grid shows it false: within the bound's slack (the
  report gives the ratio to the smallest sufficient n and how that n is known, see `theory.testing.looseness`).
  Reported as a survivor with the reason.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sympy as sp
from hypothesis import Phase, settings

from theory.bound import Bound, ValidityError
from theory.catalogue import catalogue
from theory.reference import reference_for
from theory.symbols import V, d, delta, eps, l, m
from theory.testing import (
    BoundCheckError,
    check_bound,
    describe_looseness,
    looseness,
    validity_failure,
)

Expected = Literal["misdeclared", "false", "conservative", "open"]

#: The points at which a shrunk bound is decided false by an exact reference (V = 2); a problem's Monte-Carlo
#: reference decides at its own declared points.
GRID: tuple[dict[str, float], ...] = tuple(
    {"eps": e, "delta": dl, "m": m_, "V": 2, "l": l_, "d": d_}
    for e, dl, m_, l_, d_ in itertools.product(
        (0.05, 0.1, 0.2, 0.3, 0.45), (1e-12, 1e-8, 1e-4, 1e-2, 0.05, 0.2, 0.45), (1, 2, 5, 20), (1, 2), (1, 2, 5, 20)
    )
)
PROPERTIES = ("monotone", "order", "lower-le-upper", "valid")
GROUND_TRUTH_SEED, GROUND_TRUTH_POWER = 1, 0.999  # the Monte-Carlo ground truth's own draws, not the battery's


@dataclass(frozen=True)
class Mutant:
    """One planted mistake: the mutated bound, the operator that made it, and what it should do."""

    source_id: str
    operator: str
    bound: Bound
    expected: Expected
    why: str

    @property
    def id(self) -> str:
        return f"{self.source_id} ~ {self.operator}"


# ---- operators --------------------------------------------------------------------------------------------------
def _logs_with(expr: sp.Expr, sym: sp.Symbol, value: sp.Expr) -> sp.Expr:
    """Replace `sym` by `value` inside every logarithm (dropping ln m, ln(1/eps), ...)."""
    return expr.replace(lambda e: isinstance(e, sp.log) and e.has(sym), lambda e: sp.log(e.args[0].subs(sym, value)))


def _expr_mutants(b: Bound) -> list[tuple[str, sp.Expr]]:
    """(operator, mutated expression) pairs that apply to `b`."""
    out: list[tuple[str, sp.Expr]] = []
    tv = b.problem in ("tv-distribution", "text-generation") and b.kind == "upper"
    scales = [("constant x1/2", sp.Rational(1, 2))]
    if tv:
        scales += [("TV = L1/2 applied the wrong way (n/4)", sp.Rational(1, 4)), ("TV = L1/2 forgotten (n x4)", 4)]
    elif b.kind == "upper":
        scales += [("constant x1/4", sp.Rational(1, 4))]
    else:
        scales = [("lower constant x8", 8)]
    out += [(name, b.expr * k) for name, k in scales]
    if b.expr.has(sp.log(2 / delta)):
        out.append(("ln(2/delta) -> ln(1/delta)", b.expr.replace(sp.log(2 / delta), sp.log(1 / delta))))
    if b.expr.has(sp.log(1 / delta)) and b.kind == "upper":
        out.append(("ln(1/delta) -> ln(2/delta)", b.expr.replace(sp.log(1 / delta), sp.log(2 / delta))))
    if b.kind == "upper" and b.expr.has(sp.log(2)) and b.id == "vc.blumer":
        out.append(("log2 -> ln", b.expr * sp.log(2)))
    elif b.kind == "upper" and b.expr.has(sp.log):
        out.append(("ln -> log2", b.expr / sp.log(2)))
    if b.kind == "upper" and any(isinstance(e, sp.log) and e.has(m) for e in sp.preorder_traversal(b.expr)):
        out.append(("dropped ln m", _logs_with(b.expr, m, 1)))
    if b.kind == "upper" and any(isinstance(e, sp.log) and e.has(eps) for e in sp.preorder_traversal(b.expr)):
        out.append(("dropped ln(1/eps)", _logs_with(b.expr, eps, 1)))
    return out


# Declared rates with a product and a sum swapped: (new rate, True if the new rate grows faster than the old).
_SWAPS: dict[str, tuple[sp.Expr, bool]] = {
    "paper.text-generation": (m * (V + sp.log(m / delta)) / eps**2, False),
    "paper.text-generation-bounded": ((l * sp.log(V) + sp.log(1 / delta)) / eps**2, False),
    "text-generation.mcdiarmid-union": (m * V * sp.log(m / delta) / eps**2, True),
    "tv.expectation-mcdiarmid": (V * sp.log(1 / delta) / eps**2, True),
    "vc.hanneke": (d * sp.log(1 / delta) / eps, True),
    "vc.ssbd-realizable": (d * sp.log(1 / eps) * sp.log(1 / delta) / eps, True),
}


def _rate_mutants(b: Bound) -> list[tuple[str, sp.Expr, bool]]:
    """(operator, mutated rate, whether the new rate grows faster) pairs that apply to `b`."""
    out = []
    if any(isinstance(e, sp.log) and e.has(m) for e in sp.preorder_traversal(b.rate)):
        out.append(("declared rate drops ln m", _logs_with(b.rate, m, 1), False))
    if b.rate.has(sp.log(1 / eps)):
        out.append(("declared rate drops ln(1/eps)", b.rate.subs(sp.log(1 / eps), 1), False))
    if b.id in _SWAPS:
        rate, grows = _SWAPS[b.id]
        out.append(("declared rate: product <-> sum", rate, grows))
    return out


# ---- ground truth -------------------------------------------------------------------------------------------------
def _false_on_grid(b: Bound) -> str | None:
    """A point of GRID where `b` is shown false (reference, or a lower bound above an explicit upper bound)."""
    uppers = [u for u in catalogue() if u.problem == b.problem and u.kind == "upper" and u.explicit]
    ref = reference_for(b.problem)
    if ref is not None and ref.monte_carlo is not None and b.explicit:
        # an independent second look: another seed and more power than the battery's own check
        evidence = ref.monte_carlo.evidence(b, ref.problem, seed=GROUND_TRUTH_SEED, power=GROUND_TRUTH_POWER)
        if evidence.false:
            return evidence.false
    for point in GRID:
        params = {k: v for k, v in point.items() if k in b.parameters}
        try:
            if b.violations(**params):
                continue
            why = validity_failure(b, point)
            if why:
                return why
            if b.kind == "lower":
                lo = b.n(**params)
                for u in uppers:
                    up_params = {k: v for k, v in point.items() if k in u.parameters}
                    if not u.violations(**up_params) and lo > u.n(**up_params) * (1 + 1e-9):
                        return f"exceeds the explicit upper bound {u.id} at {params}"
        except ValidityError:
            continue
    return None


def _mutant(b: Bound, operator: str, *, expr: sp.Expr | None = None, rate: sp.Expr | None = None) -> Bound:
    changes = {"id": f"{b.id}~{operator}", "derive": None}
    if expr is not None:
        changes["expr"] = expr
    if rate is not None:
        changes["rate"] = rate
    return dataclasses.replace(b, **changes)


def _shrinks(b: Bound, expr: sp.Expr) -> bool:
    """True when the mutated expression is smaller than the original somewhere on GRID (a weaker upper bound)."""
    probe = _mutant(b, "probe", expr=expr)
    for point in GRID[:: max(1, len(GRID) // 97)]:
        params = {k: v for k, v in point.items() if k in b.parameters}
        try:
            if probe.n(**params) < b.n(**params) * (1 - 1e-12):
                return True
        except (ValidityError, ValueError):
            continue
    return False


def mutants(bounds: list[Bound] | None = None) -> list[Mutant]:
    """Every mutant of `bounds` (default: the catalogue's explicit bounds, and every bound's declared rate)."""
    out = []
    for b in bounds if bounds is not None else catalogue():
        if b.explicit:
            for op, expr in _expr_mutants(b):
                mutated = _mutant(b, op, expr=expr)
                if b.kind == "upper" and not _shrinks(b, expr):
                    out.append(Mutant(b.id, op, mutated, "conservative", "only makes the upper bound larger"))
                    continue
                shown = _false_on_grid(mutated)
                if shown:
                    out.append(Mutant(b.id, op, mutated, "false", shown))
                elif _order_changed(op, b):
                    why = f"the formula loses a growing factor its declared {b.order} rate keeps"
                    out.append(Mutant(b.id, op, mutated, "misdeclared", why))
                else:
                    out.append(Mutant(b.id, op, mutated, "open", "no point of the grid shows it false"))
        for op, rate, grows in _rate_mutants(b):
            mutated = _mutant(b, op, rate=rate)
            wrong = {"O": not grows, "Theta": True, "Omega": grows}[b.order]
            expected: Expected = "misdeclared" if wrong else "conservative"
            why = (f"{b.order} with a rate that {'grows faster' if grows else 'lacks a growing factor'}: "
                   + ("wrong" if wrong else "still a true statement"))
            out.append(Mutant(b.id, op, mutated, expected, why))
    return out


def _order_changed(operator: str, b: Bound) -> bool:
    """A dropped log in the formula breaks a Theta (the formula loses a factor its declared rate keeps)."""
    return operator.startswith("dropped") and b.order == "Theta"


# ---- running the suite ------------------------------------------------------------------------------------------
def _found() -> settings:
    """The loaded profile without shrinking: the suite needs whether a mutant is caught, not its smallest
    counterexample (shrinking and explaining failures took a third of its time)."""
    return settings(settings(), phases=[Phase.explicit, Phase.reuse, Phase.generate])


def run(mutant: Mutant) -> dict:
    """Run the battery on one mutant; plain JSON with whether it was caught and, for survivors, why."""
    try:
        check_bound(mutant.bound, only=PROPERTIES, settings_=_found())
        caught, message = False, ""
    except BoundCheckError as err:
        caught, message = True, str(err).splitlines()[1]
    row = {
        "id": mutant.id,
        "bound": mutant.source_id,
        "operator": mutant.operator,
        "expected": mutant.expected,
        "why_expected": mutant.why,
        "caught": caught,
        "message": message,
    }
    if not caught:
        row["survivor_reason"] = _survivor_reason(mutant)
    return row


def _survivor_reason(mutant: Mutant) -> str:
    b = mutant.bound
    if mutant.expected == "conservative":
        return "correct: " + mutant.why
    ref = reference_for(b.problem)
    if ref is None:
        return f"undetectable: no reference for problem {b.problem!r}, and the declared order still holds"
    loose = looseness(b)
    if loose and loose.get("ratio_max", loose["ratio"]) >= 1:
        within = "within" if loose["ratio"] >= 1 else "possibly within"  # bracketed: the true n lies in between
        return f"{within} the bound's slack at {loose['params']}: {describe_looseness(loose)}; no grid point fails"
    return f"not shown false by the reference ({ref.description}) at any grid point"


def score(rows: list[dict]) -> dict:
    """The mutation score: caught / total, the must-catch rate, false alarms and the survivors."""
    must = [r for r in rows if r["expected"] in ("false", "misdeclared")]
    conservative = [r for r in rows if r["expected"] == "conservative"]
    return {
        "total": len(rows),
        "caught": sum(r["caught"] for r in rows),
        "must_catch": len(must),
        "must_catch_caught": sum(r["caught"] for r in must),
        "false_alarms": [r["id"] for r in conservative if r["caught"]],
        "missed": [r["id"] for r in must if not r["caught"]],
        "survivors": [{"id": r["id"], "expected": r["expected"], "reason": r["survivor_reason"]}
                      for r in rows if not r["caught"]],
        "mutants": rows,
    }


def suite(progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Build every mutant, run the battery on each, and score the result (also checks the catalogue itself).

    Args:
        progress: called as progress(i, total, mutant id) before each mutant, or None.

    Returns:
        The score (`score`): total, caught, must_catch, must_catch_caught, false_alarms, missed, survivors,
            and catalogue_false_alarms (catalogue bounds the battery rejects: should be empty).
    """
    ms = mutants()
    rows = []
    for i, mt in enumerate(ms, 1):
        if progress:
            progress(i, len(ms), mt.id)
        rows.append(run(mt))
    out = score(rows)
    out["catalogue_false_alarms"] = [b.id for b in catalogue() if _fails(b)]
    return out


def _fails(b: Bound) -> bool:
    try:
        check_bound(b, only=PROPERTIES, settings_=_found())
        return False
    except BoundCheckError:
        return True


__all__ = ["GRID", "Mutant", "mutants", "run", "score", "suite"]
