"""Every derivation verifies, ends at the catalogue formula, and a wrong chain is caught."""

import numpy as np
import pytest
import sympy as sp

import theory
from theory import derivation as dv
from theory import lemmas
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
    "mean.lecam-lower",
    "tv.lecam-lower",
    "mode.dkw",
    "text-generation.random-contexts",
    "text-generation.lecam-lower",
]


@pytest.mark.parametrize("bound_id", DERIVED)
def test_derivation_verifies(bound_id):
    der = theory.get(bound_id).derivation
    assert der is not None
    assert der.passed, der.render()
    out = der.to_dict()
    assert out["id"] == bound_id and out["passed"] is True
    assert all(set(s) >= {"claim", "latex", "status", "passed", "check"} for s in out["steps"])
    assert out["counts"]["checked"] >= 2 and sum(out["counts"].values()) == len(out["steps"])
    assert len(out["steps"]) >= 3


def test_quoted_bounds_have_no_derivation():
    assert theory.get("vc.blumer").derivation is None
    assert theory.get("paper.linear-classification").derivation is None


def test_wrong_sample_size_fails_the_chain():
    tail = 2 * sp.exp(-2 * n * eps**2)
    wrong = sp.log(2 / delta) / (4 * eps**2)  # half of Hoeffding's n: substituting back gives sqrt(2 delta)
    steps = dv.solve_tail(tail, wrong)
    assert not steps[0].passed and not steps[1].passed
    assert not dv.Derivation("mutant", tuple(steps)).passed


def test_increasing_tail_fails_monotonicity():
    tail = delta * sp.exp(n * eps**2 - 1)  # grows with n: certifies nothing
    assert not dv.solve_tail(tail, 1 / eps**2)[1].passed
    assert not dv.premise("bogus", sp.Le(sp.Symbol("P"), tail), tail, "none").passed


def test_wrong_substitution_fails():
    t = sp.Symbol("t", positive=True)
    step = dv.substitution("t = eps", 2 * sp.exp(-2 * n * t**2), t, eps, 2 * sp.exp(-n * eps**2))
    assert not step.passed


def test_premises_are_quoted_not_checked():
    for bound in theory.catalogue():
        if bound.derivation is None:
            continue
        for step in bound.derivation.steps:
            if "[" in step.claim and step.claim.rstrip().endswith("]"):  # cites a source
                assert step.status == "quoted", (bound.id, step.claim)


def test_no_step_compares_an_expression_with_itself():
    for bound in theory.catalogue():
        for step in bound.derivation.steps if bound.derivation else ():
            rel = step.relation
            if isinstance(rel, sp.Eq):
                assert rel.lhs != rel.rhs or step.status != "checked", (bound.id, step.claim)


LEMMAS = {
    "union over contexts": lambda: lemmas.union_over_contexts(
        2 * sp.exp(-2 * n * eps**2), sp.log(2 / delta) / (2 * eps**2)
    ),
    "TV = L1/2": lemmas.tv_is_half_l1,
    "point mass vs CDF": lemmas.point_mass_vs_cdf,
    "E TV + deviation": lemmas.expectation_split,
    "(1 - 1/m)^n <= exp(-n/m)": lemmas.miss_probability,
    "ln(2^V - 2) <= V ln 2": lemmas.log_subsets,
    "ab >= (a + b)/2": lemmas.product_vs_sum,
}


@pytest.mark.parametrize("name", LEMMAS)
def test_lemma_is_checked_not_quoted(name):
    step = LEMMAS[name]()
    assert step.status in ("checked", "numeric") and step.passed, step.check


def test_lemma_checks_can_fail():
    # The same machinery refuses false versions of the lemmas.
    assert not dv.inequality(
        "ab >= a + b (false for a = b = 1)", 2 + lemmas.u + lemmas.w, (1 + lemmas.u) * (1 + lemmas.w)
    ).passed
    wrong_union = lemmas.union_over_contexts(2 * sp.exp(-2 * n * eps**2), sp.log(1 / delta) / (2 * eps**2))
    assert not wrong_union.passed
    assert not lemmas._tv_half_l1_against(lambda p, q: np.abs(p - q).sum(-1))  # TV != L1
