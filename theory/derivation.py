"""Checked derivations: chains of sympy steps from a stated tail bound to a sample size.

A step is not narration: each carries a check that sympy performs when the chain is built (solving, substituting
back, simplifying a difference to zero, deciding a sign under the symbols' assumptions). A derivation is verified
only if every step's check succeeded. The only unchecked content is the premise each chain starts from: a tail
inequality quoted from its source, whose citation the step names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy as sp

from theory.symbols import delta, n


@dataclass(frozen=True)
class Step:
    """One step: a claim in words, the relation it establishes, and whether sympy confirmed it."""

    claim: str
    relation: sp.Basic
    verified: bool
    check: str

    def latex(self) -> str:
        return sp.latex(self.relation, ln_notation=True)

    def to_dict(self) -> dict:
        return {"claim": self.claim, "latex": self.latex(), "verified": self.verified, "check": self.check}


@dataclass(frozen=True)
class Derivation:
    """An ordered chain of steps ending at a bound's sample size."""

    bound_id: str
    steps: tuple[Step, ...]

    @property
    def verified(self) -> bool:
        return bool(self.steps) and all(step.verified for step in self.steps)

    def to_dict(self) -> dict:
        return {"id": self.bound_id, "steps": [s.to_dict() for s in self.steps], "verified": self.verified}

    def render(self) -> str:
        lines = [f"Derivation of {self.bound_id}"]
        for i, step in enumerate(self.steps, 1):
            mark = "ok" if step.verified else "FAILED"
            lines += [f"  {i}. [{mark}] {step.claim}", f"       {sp.sstr(step.relation)}"]
            lines.append(f"       check: {step.check}")
        lines.append(f"  verified: {self.verified}")
        return "\n".join(lines)


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """True when sympy proves a == b (logs expanded under the symbols' positivity assumptions)."""
    diff = sp.expand_log(sp.expand(a - b), force=True)
    return sp.simplify(diff) == 0


def premise(claim: str, relation: sp.Basic, tail: sp.Expr, source: str) -> Step:
    """A quoted tail inequality. Checked: the tail is positive and vanishes as n grows (else it certifies nothing)."""
    ok = bool(sp.limit(tail, n, sp.oo) == 0) and tail.subs(n, 1).is_positive is not False
    return Step(f"{claim} [{source}]", relation, ok, "sympy: lim_{n->oo} tail = 0 (premise quoted from the source)")


def substitution(claim: str, general: sp.Expr, variable: sp.Symbol, value: sp.Expr, result: sp.Expr) -> Step:
    """A step that specialises a quoted tail by substituting `variable = value`; checked by sympy."""
    ok = equal(general.subs(variable, value), result)
    check = f"sympy: tail({sp.sstr(variable)} = {sp.sstr(value)}) - ({sp.sstr(result)}) simplifies to 0"
    return Step(claim, sp.Eq(sp.Symbol("P_fail"), result, evaluate=False), ok, check)


def solve_tail(tail: sp.Expr, target: sp.Expr, what: str = "n") -> list[Step]:
    """Steps from `P(failure) <= tail(n)` to `n >= target`, each checked by sympy.

    1. tail(n) = delta has exactly one positive solution, and it equals `target`;
    2. substituting it back gives exactly delta;
    3. ln(tail(target + t) / delta) <= 0 for every t >= 0: any larger n also fails with probability <= delta.
    """
    sols = sp.solve(sp.Eq(tail, delta), n)
    solved = len(sols) == 1 and equal(sols[0], target)
    got = sp.sstr(sols) if not solved else sp.sstr(target)
    solve = Step(
        f"Set the tail equal to delta and solve for {what}",
        sp.Eq(n, target, evaluate=False),
        solved,
        f"sympy.solve(tail = delta, n) -> {got}; equals the claimed size",
    )
    back = sp.simplify(sp.expand_log(tail.subs(n, target), force=True))
    substituted = Step(
        f"Substitute {what} = n* back into the tail",
        sp.Eq(sp.Function("tail")(sp.Symbol("n^*")), back, evaluate=False),
        equal(back, delta),
        "sympy: tail(n*) - delta simplifies to 0",
    )
    t = sp.Symbol("t", nonnegative=True)
    log_ratio = sp.simplify(sp.expand_log(sp.log(tail.subs(n, target + t) / delta), force=True))
    monotone = Step(
        f"Any {what} >= n* keeps the failure probability <= delta",
        sp.Le(log_ratio, 0, evaluate=False),
        log_ratio.is_nonpositive is True,
        "sympy: ln(tail(n* + t)/delta) is nonpositive for t >= 0 under the symbols' assumptions",
    )
    return [solve, substituted, monotone]


def identity(claim: str, lhs: sp.Expr, rhs: sp.Expr) -> Step:
    """A closing algebraic identity (e.g. N = m n_c equals the catalogue formula), checked by sympy."""
    return Step(claim, sp.Eq(lhs, rhs, evaluate=False), equal(lhs, rhs), "sympy: lhs - rhs simplifies to 0")


def dominates(claim: str, big: sp.Expr, parts: Iterable[sp.Expr]) -> Step:
    """`big` is exactly max(parts), so it meets every requirement in `parts`; checked structurally by sympy."""
    parts = list(parts)
    rel = sp.And(*[sp.Ge(big, p, evaluate=False) for p in parts])
    return Step(claim, rel, equal(big, sp.Max(*parts)), "sympy: the size equals Max(requirements)")


def solve_for_n(claim: str, lhs: sp.Expr, rhs: sp.Expr, target: sp.Expr) -> Step:
    """`lhs(n) = rhs` has the unique solution n = target (e.g. E TV = eps/2 at n = V/eps^2); checked by sympy."""
    sols = sp.solve(sp.Eq(lhs, rhs), n)
    ok = len(sols) == 1 and equal(sols[0], target)
    return Step(claim, sp.Eq(n, target, evaluate=False), ok, f"sympy.solve({sp.sstr(lhs)} = {sp.sstr(rhs)}, n)")
