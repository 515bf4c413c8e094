"""Checked derivations: chains of steps from quoted theorems to a sample size, each labelled by what backs it.

Every step has a status that says exactly how much it is worth:

- ``quoted``: a premise taken from a cited theorem. It is *not* proved here; the only check is a sanity check
  (e.g. that a quoted tail vanishes as n grows, else it certifies nothing).
- ``checked``: sympy proves it (solving an equation, simplifying a difference to zero, or deciding the sign of
  an expression under the symbols' assumptions).
- ``numeric``: checked by a stated numeric method (a dense grid, exhaustive enumeration, random draws); evidence,
  not proof.

A derivation passes when every step's check passed; `counts` says how many steps of each status it has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import sympy as sp

from theory.symbols import delta, n

Status = Literal["quoted", "checked", "numeric"]
STATUSES: tuple[Status, ...] = ("checked", "numeric", "quoted")


@dataclass(frozen=True)
class Step:
    """One step: a claim in words, the relation it establishes, its status, and whether its check passed."""

    claim: str
    relation: sp.Basic
    status: Status
    passed: bool
    check: str

    def latex(self) -> str:
        return sp.latex(self.relation, ln_notation=True)

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "latex": self.latex(),
            "status": self.status,
            "passed": self.passed,
            "check": self.check,
        }


@dataclass(frozen=True)
class Derivation:
    """An ordered chain of steps ending at a bound's sample size."""

    bound_id: str
    steps: tuple[Step, ...]

    @property
    def passed(self) -> bool:
        """Every step's check passed (quoted premises: their sanity check only)."""
        return bool(self.steps) and all(step.passed for step in self.steps)

    @property
    def counts(self) -> dict[str, int]:
        """Number of steps of each status."""
        tally = Counter(step.status for step in self.steps)
        return {s: tally.get(s, 0) for s in STATUSES}

    def to_dict(self) -> dict:
        return {
            "id": self.bound_id,
            "steps": [s.to_dict() for s in self.steps],
            "passed": self.passed,
            "counts": self.counts,
        }

    def render(self) -> str:
        lines = [f"Derivation of {self.bound_id}"]
        for i, step in enumerate(self.steps, 1):
            mark = step.status if step.passed else f"{step.status}, FAILED"
            lines += [f"  {i}. [{mark}] {step.claim}", f"       {sp.sstr(step.relation)}"]
            lines.append(f"       check: {step.check}")
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        lines.append(f"  passed: {self.passed} ({counts})")
        return "\n".join(lines)


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """True when sympy proves a == b (logs expanded under the symbols' positivity assumptions)."""
    diff = sp.expand_log(sp.expand(a - b), force=True)
    return sp.simplify(diff) == 0


def nonnegative(expr: sp.Expr) -> bool:
    """True when sympy proves expr >= 0 under the symbols' assumptions (after simplification)."""
    for form in (expr, sp.simplify(expr), sp.factor(sp.simplify(expr))):
        if form.is_nonnegative is True:
            return True
    return False


def premise(claim: str, relation: sp.Basic, tail: sp.Expr, source: str) -> Step:
    """A quoted tail inequality (not proved here). Sanity check: the tail is positive and vanishes as n grows."""
    ok = bool(sp.limit(tail, n, sp.oo) == 0) and tail.subs(n, 1).is_positive is not False
    return Step(f"{claim} [{source}]", relation, "quoted", ok, "sanity only: lim_{n->oo} tail = 0 (sympy)")


def quoted(claim: str, relation: sp.Basic, source: str) -> Step:
    """A quoted statement that is not a tail (e.g. a lemma of the source, or another catalogue bound)."""
    return Step(f"{claim} [{source}]", relation, "quoted", True, "not checked here: quoted from the source")


def substitution(claim: str, general: sp.Expr, variable: sp.Symbol, value: sp.Expr, result: sp.Expr) -> Step:
    """A quoted tail specialised by substituting `variable = value`; sympy checks the result (written separately)."""
    ok = equal(general.subs(variable, value), result)
    check = f"sympy: tail({sp.sstr(variable)} = {sp.sstr(value)}) - ({sp.sstr(result)}) simplifies to 0"
    return Step(claim, sp.Eq(sp.Symbol("P_fail"), result, evaluate=False), "checked", ok, check)


def _solve_step(claim: str, tail: sp.Expr, target: sp.Expr) -> Step:
    """tail(n) = delta has exactly one solution in n, and it equals `target`."""
    sols = sp.solve(sp.Eq(tail, delta), n)
    solved = len(sols) == 1 and equal(sols[0], target)
    got = sp.sstr(sols) if not solved else sp.sstr(target)
    check = f"sympy.solve(tail = delta, n) -> {got}; equals the claimed size"
    return Step(claim, sp.Eq(n, target, evaluate=False), "checked", solved, check)


def solve_tail(tail: sp.Expr, target: sp.Expr, what: str = "n") -> list[Step]:
    """Steps from `P(failure) <= tail(n)` to `n >= target`, each checked by sympy.

    1. tail(n) = delta has exactly one positive solution, and it equals `target`;
    2. ln(tail(target + t) / delta) <= 0 for every t >= 0: any larger n also fails with probability <= delta.
    """
    solve = _solve_step(f"Set the tail equal to delta and solve for {what}", tail, target)
    t = sp.Symbol("t", nonnegative=True)
    log_ratio = sp.simplify(sp.expand_log(sp.log(tail.subs(n, target + t) / delta), force=True))
    monotone = Step(
        f"Any {what} >= n* keeps the failure probability <= delta",
        sp.Le(log_ratio, 0, evaluate=False),
        "checked",
        log_ratio.is_nonpositive is True,
        "sympy: ln(tail(n* + t)/delta) is nonpositive for t >= 0 under the symbols' assumptions",
    )
    return [solve, monotone]


def solve_lower_tail(tail: sp.Expr, target: sp.Expr, what: str = "n") -> list[Step]:
    """Steps from `P(failure) >= tail(n)` (a lower bound on every learner's failure) to "n >= target is necessary".

    1. tail(n) = delta has exactly one positive solution, and it equals `target`;
    2. ln(tail(target - t) / delta) >= 0 for every t >= 0: with fewer examples every learner fails with
       probability at least delta.
    """
    solve = _solve_step(f"Set the lower tail equal to delta and solve for {what}", tail, target)
    t = sp.Symbol("t", nonnegative=True)
    log_ratio = sp.simplify(sp.expand_log(sp.log(tail.subs(n, target - t) / delta), force=True))
    necessary = Step(
        f"Any {what} < n* leaves the failure probability >= delta",
        sp.Ge(log_ratio, 0, evaluate=False),
        "checked",
        log_ratio.is_nonnegative is True,
        "sympy: ln(tail(n* - t)/delta) is nonnegative for t >= 0 under the symbols' assumptions",
    )
    return [solve, necessary]


def identity(claim: str, lhs: sp.Expr, rhs: sp.Expr) -> Step:
    """An algebraic identity (e.g. N = m n_c equals the catalogue formula), checked by sympy."""
    return Step(claim, sp.Eq(lhs, rhs, evaluate=False), "checked", equal(lhs, rhs), "sympy: lhs - rhs simplifies to 0")


def conclude(claim: str, derived: sp.Expr, formula: sp.Expr, symbol: sp.Expr = n) -> Step:
    """The chain's result `derived` equals the catalogue `formula` (written separately); shown as n = formula."""
    return Step(
        claim,
        sp.Eq(symbol, formula, evaluate=False),
        "checked",
        equal(derived, formula),
        "sympy: the derived size minus the catalogue formula simplifies to 0",
    )


def dominates(claim: str, big: sp.Expr, parts: Iterable[sp.Expr]) -> Step:
    """`big` (written independently) is exactly max(parts), so it meets every requirement in `parts`."""
    parts = list(parts)
    rel = sp.And(*[sp.Ge(big, p, evaluate=False) for p in parts])
    return Step(claim, rel, "checked", equal(big, sp.Max(*parts)), "sympy: the size equals Max(requirements)")


def solve_for_n(claim: str, lhs: sp.Expr, rhs: sp.Expr, target: sp.Expr) -> Step:
    """`lhs(n) = rhs` has the unique solution n = target (e.g. E TV = eps/2 at n = V/eps^2); checked by sympy."""
    sols = sp.solve(sp.Eq(lhs, rhs), n)
    ok = len(sols) == 1 and equal(sols[0], target)
    check = f"sympy.solve({sp.sstr(lhs)} = {sp.sstr(rhs)}, n)"
    return Step(claim, sp.Eq(n, target, evaluate=False), "checked", ok, check)


def inequality(claim: str, small: sp.Expr, big: sp.Expr, *, how: str = "") -> Step:
    """small <= big, proved by sympy: big - small is nonnegative under the symbols' assumptions.

    `how` names a reparametrisation used to state the domain (e.g. a = 1 + u with u >= 0).
    """
    ok = nonnegative(big - small)
    check = "sympy: (rhs - lhs) is nonnegative under the symbols' assumptions" + (f" ({how})" if how else "")
    return Step(claim, sp.Le(small, big, evaluate=False), "checked", ok, check)


def numeric(claim: str, relation: sp.Basic, test: Callable[[], bool], method: str) -> Step:
    """A lemma checked by a stated numeric method (`test` returns True when every checked case holds)."""
    return Step(claim, relation, "numeric", bool(test()), f"numeric: {method}")
