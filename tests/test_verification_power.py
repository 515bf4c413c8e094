"""The battery catches the mistakes that matter: invalid constants, misdeclared logs, product vs sum, false lowers."""

import math

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from theory import mutants
from theory.problems import _two_sided, binomial_worst, coverage_failure
from theory.reference import power, problems
from theory.symbols import V, d, delta, eps, m
from theory.testing import BoundCheckError, check_bound, partners


def user_bound(**fields) -> theory.Bound:
    """A bound built the way a user would, from the public constructor (not a catalogue entry)."""
    base = dict(
        id="user.mean",
        title="my mean bound",
        kind="upper",
        source="standard",
        metric="absolute error of an empirical mean",
        expr=sp.log(2 / delta) / (3 * eps**2),
        order="Theta",
        rate=sp.log(1 / delta) / eps**2,
        assumptions=("i.i.d. [0, 1]",),
        citation=theory.Citation("me", "my notes", "eq. 1"),
        problem="mean-estimation",
    )
    return theory.Bound(**(base | fields))


def test_user_bound_with_an_invalid_constant_fails_plain_check_bound():
    # ln(2/delta)/(3 eps^2) is 2/3 of Hoeffding's n: too few samples at small delta.
    with pytest.raises(BoundCheckError, match=r"\[valid\] .*invalid upper bound: at .*failure probability") as info:
        check_bound(user_bound())
    assert "exact binomial" in str(info.value)


def test_user_bound_valid_but_loose_passes_and_reports_how_loose():
    report = check_bound(user_bound(expr=sp.log(2 / delta) / eps**2))  # 2x Hoeffding: valid
    assert report.looseness["ratio"] > 2 and report.looseness["smallest_n"] < report.looseness["n"]
    assert "exact binomial" in report.reference


def test_user_bound_with_a_dropped_log_fails_the_order_check():
    # m contexts learned by a union over contexts, declared without its ln m.
    bound = user_bound(
        id="user.contexts",
        problem="text-generation",
        expr=m * (V * sp.log(2) + sp.log(2 * m / delta)) / (2 * eps**2),
        order="O",
        rate=m * (V + sp.log(1 / delta)) / eps**2,
    )
    with pytest.raises(BoundCheckError, match=r"\[order\].*grows by a factor .* as m goes"):
        check_bound(bound, only=["order"])


def test_user_bound_declaring_a_product_as_a_sum_fails_the_order_check():
    bound = user_bound(
        id="user.vc",
        problem="vc-agnostic",
        expr=4 * d * sp.log(1 / delta) / eps**2,
        order="Theta",
        rate=(d + sp.log(1 / delta)) / eps**2,
    )
    with pytest.raises(BoundCheckError, match=r"\[order\].*as delta and d go to the limit together"):
        check_bound(bound, only=["order"])


def test_disagreeing_checks_give_a_report_not_a_bare_exception_group():
    # Wrong in several ways at once: hypothesis may raise an ExceptionGroup internally; the user sees a report.
    bound = user_bound(expr=sp.log(2 / delta) / (10 * eps), order="Theta")
    with pytest.raises(BoundCheckError) as info:
        check_bound(bound)
    assert str(info.value).startswith("user.mean failed") and "[order]" in str(info.value)


def test_mutant_suite_catches_every_false_or_misdeclared_mutant_and_no_conservative_one():
    out = mutants.suite()
    assert out["must_catch"] >= 30 and out["missed"] == [], out["missed"]
    assert out["false_alarms"] == [] and out["catalogue_false_alarms"] == []
    operators = {r["operator"] for r in out["mutants"]}
    for op in (
        "constant x1/2",
        "constant x1/4",
        "ln(2/delta) -> ln(1/delta)",
        "log2 -> ln",
        "dropped ln m",
        "dropped ln(1/eps)",
        "declared rate: product <-> sum",
        "lower constant x8",
        "TV = L1/2 applied the wrong way (n/4)",
        "declared rate drops ln(1/eps)",
    ):
        assert op in operators, op
    assert all(s["reason"] for s in out["survivors"])
    by_id = {r["id"]: r for r in out["mutants"]}
    # The examples of the issue, each caught.
    for name in (
        "hoeffding ~ constant x1/4",
        "tv.bretagnolle-huber-carol ~ TV = L1/2 applied the wrong way (n/4)",
        "text-generation.union ~ declared rate drops ln m",
        "vc.blumer ~ declared rate drops ln(1/eps)",
        "paper.text-generation ~ declared rate: product <-> sum",
    ):
        assert by_id[name]["caught"], name


# ---- lower bounds as shipped --------------------------------------------------------------------------------
LOWER_UPPER = [(lo, up) for lo in theory.catalogue() if lo.kind == "lower" for up in partners(lo, theory.catalogue())]


def test_every_evaluable_lower_bound_has_an_explicit_upper_partner_or_none_exists():
    assert ("mean.lecam-lower", "hoeffding") in {(lo.id, up.id) for lo, up in LOWER_UPPER}
    assert ("vc.ehkv-lower", "vc.blumer") in {(lo.id, up.id) for lo, up in LOWER_UPPER}
    for b in theory.catalogue():
        if b.kind == "lower":
            assert b.evaluable or b.required_constants, b.id  # no default that is not known to be valid


@pytest.mark.parametrize(("lower", "upper"), LOWER_UPPER, ids=lambda b: b.id)
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    e=st.floats(1e-4, 0.49),
    dl=st.floats(1e-30, 0.49).map(lambda x: x),
    m_=st.integers(1, 1000),
    V_=st.integers(2, 1000),
    d_=st.integers(1, 1000),
    l_=st.integers(1, 20),
)
def test_no_lower_bound_exceeds_an_explicit_upper_bound_at_its_defaults(lower, upper, e, dl, m_, V_, d_, l_):
    point = {"eps": e, "delta": dl, "m": m_, "V": V_, "d": d_, "l": l_}
    lo_ps = {k: v for k, v in point.items() if k in lower.parameters}
    up_ps = {k: v for k, v in point.items() if k in upper.parameters}
    if lower.violations(**lo_ps) or upper.violations(**up_ps):
        return
    assert lower.n(**lo_ps) <= upper.n(**up_ps) * (1 + 1e-12)


def test_the_issue_counterexamples_are_gone():
    # tv.lower (c_TV = 1) used to exceed BHC at V = 2, eps = 0.01, delta = 1e-6: it now has no default at all.
    with pytest.raises(theory.MissingConstant):
        theory.get("tv.lower").n(eps=0.01, delta=1e-6, V=2)
    lo = theory.get("vc.ssbd-agnostic-lower").n(eps=0.05, delta=0.005, d=10)
    assert lo < theory.get("vc.ssbd-agnostic").n(eps=0.05, delta=0.005, d=10)


# ---- the references themselves ----------------------------------------------------------------------------------
def test_binomial_reference_is_certified_from_both_sides():
    for n in (1, 7, 40, 185, 1000):
        f = binomial_worst(n, 0.1)
        assert 0 <= f.low <= f.high <= 1
        # a dense grid of p never exceeds the certified upper bound, and reaches the certified lower one
        import numpy as np

        dense = _two_sided(n, 0.1, np.linspace(0, 1, 20001)).max()
        assert dense <= f.high * (1 + 1e-9) and f.low >= dense * (1 - 1e-6) - 1e-12


def test_hoeffding_is_valid_and_a_half_is_not_by_the_exact_reference():
    n = math.ceil(theory.get("hoeffding").n(eps=0.1, delta=1e-6))
    assert binomial_worst(n, 0.1).high <= 1e-6
    assert binomial_worst(math.ceil(n / 2), 0.1).low > 1e-6


def test_coverage_reference_matches_a_direct_count():
    # m = 2: some context unseen after n draws iff all draws land in one context: 2 (1/2)^n.
    assert coverage_failure(5, 2).low == pytest.approx(2 * 0.5**5)


def test_monte_carlo_power_is_stated():
    assert power(4000, 0.05, 0.1) > 0.99 and power(4000, 0.05, 0.05) < 0.02
    assert set(problems()) >= {
        "mean-estimation",
        "tv-distribution",
        "linf-distribution",
        "text-generation",
        "coverage",
        "finite-class-realizable",
        "vc-realizable",
    }
