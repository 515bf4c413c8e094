"""Every derivation verifies, ends at the catalogue formula, and a wrong chain is caught."""

import pytest
import sympy as sp

import theory
from theory import derivation as dv
from theory.symbols import delta, eps, n

# Every bound obtained from a tail inequality must carry a derivation.
DERIVED = [
    "hoeffding",
    "linf.dkw",
    "contexts.coverage",
    "tv.bretagnolle-huber-carol",
    "tv.expectation-mcdiarmid",
    "text-generation.union",
    "text-generation.mcdiarmid-union",
    "finite-class.realizable",
    "finite-class.agnostic",
]


@pytest.mark.parametrize("bound_id", DERIVED)
def test_derivation_verifies(bound_id):
    der = theory.get(bound_id).derivation
    assert der is not None
    assert der.verified, der.render()
    out = der.to_dict()
    assert out["id"] == bound_id and out["verified"] is True
    assert all(set(s) >= {"claim", "latex", "verified"} for s in out["steps"])
    assert len(out["steps"]) >= 4


def test_quoted_bounds_have_no_derivation():
    assert theory.get("vc.blumer").derivation is None
    assert theory.get("paper.text-generation").derivation is None


def test_wrong_sample_size_fails_the_chain():
    tail = 2 * sp.exp(-2 * n * eps**2)
    wrong = sp.log(2 / delta) / (4 * eps**2)  # half of Hoeffding's n: substituting back gives sqrt(2 delta)
    steps = dv.solve_tail(tail, wrong)
    assert not steps[0].verified and not steps[1].verified
    assert not dv.Derivation("mutant", tuple(steps)).verified


def test_increasing_tail_fails_monotonicity():
    tail = delta * sp.exp(n * eps**2 - 1)  # grows with n: certifies nothing
    assert not dv.solve_tail(tail, 1 / eps**2)[2].verified
    assert not dv.premise("bogus", sp.Le(sp.Symbol("P"), tail), tail, "none").verified


def test_wrong_substitution_fails():
    t = sp.Symbol("t", positive=True)
    step = dv.substitution("t = eps", 2 * sp.exp(-2 * n * t**2), t, eps, 2 * sp.exp(-n * eps**2))
    assert not step.verified
