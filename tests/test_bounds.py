"""Catalogue values against hand computation, vectorization, inversion and validity."""

import math

import mpmath
import numpy as np
import pytest

import theory

ln = math.log

# (id, params, value computed by hand from the formula in the issue / the source)
HAND = [
    ("hoeffding", dict(eps=0.1, delta=0.05), ln(40) / 0.02),
    ("paper.text-generation", dict(eps=0.1, delta=0.05, m=10, V=7), 10 * 7 / 0.01 * ln(10 / 0.05)),
    ("paper.text-generation-bounded", dict(eps=0.1, delta=0.05, l=5, V=7), 5 * ln(7) / 0.01 * ln(20)),
    ("paper.linear-classification", dict(eps=0.1, d=8), 80.0),
    ("paper.linear-classification-fixed", dict(eps=0.1, delta=0.05), ln(20) / 0.01),
    ("tv.bretagnolle-huber-carol", dict(eps=0.1, delta=0.05, V=3), ln(6 / 0.05) / 0.02),
    ("tv.expectation-mcdiarmid", dict(eps=0.1, delta=0.05, V=3), 2 * ln(20) / 0.01),  # 599 > 300
    ("tv.expectation-mcdiarmid", dict(eps=0.1, delta=0.05, V=1000), 1000 / 0.01),
    ("text-generation.union", dict(eps=0.1, delta=0.05, m=4, V=3), 4 * ln(6 * 4 / 0.05) / 0.02),
    ("text-generation.mcdiarmid-union", dict(eps=0.1, delta=0.05, m=4, V=3), 4 * 2 * ln(80) / 0.01),
    ("linf.dkw", dict(eps=0.1, delta=0.05), 2 * ln(40) / 0.01),
    ("contexts.coverage", dict(delta=0.05, m=10), 10 * ln(200)),
    ("finite-class.realizable", dict(eps=0.1, delta=0.05, l=3, V=5), (3 * ln(5) + ln(20)) / 0.1),
    ("finite-class.agnostic", dict(eps=0.1, delta=0.05, l=3, V=5), 2 * (3 * ln(5) + ln(40)) / 0.01),
    ("vc.blumer", dict(eps=0.1, delta=0.05, d=2), max(40 * math.log2(40), 160 * math.log2(130))),
    ("vc.blumer", dict(eps=0.5, delta=1e-9, d=1), max(8 * math.log2(2e9), 16 * math.log2(26))),
    ("vc.ehkv-lower", dict(eps=0.1, delta=0.005, d=2), 9 * ln(200)),
    ("vc.ehkv-lower", dict(eps=0.1, delta=0.005, d=1000), 999 / 3.2),
    ("vc.hanneke", dict(eps=0.1, delta=0.05, d=8), (8 + ln(20)) / 0.1),
    ("tv.lower", dict(eps=0.1, delta=0.05, V=8, c_TV=1), (8 + ln(20)) / 0.01),
    # Le Cam: ln(1/(4 delta)) / KL(Ber(0.6) || Ber(0.4)), KL = 0.2 ln(1.5) = 4 eps atanh(2 eps)
    ("mean.lecam-lower", dict(eps=0.1, delta=0.01), ln(25) / (0.2 * ln(1.5))),
    ("tv.lecam-lower", dict(eps=0.1, delta=0.01, V=5), ln(25) / (0.2 * ln(1.5))),
    ("text-generation.lecam-lower", dict(eps=0.1, delta=0.01, m=4), 4 * ln(4 / (8 * ln(2) * 0.01)) / (0.2 * ln(1.5))),
    ("mode.dkw", dict(eps=0.1, delta=0.05), 8 * ln(40) / 0.01),
    # m max(2 V/eps^2, 4 ln(2m/delta)/eps^2, 8 ln(2m/delta)) at m = 4, V = 3: the ln term wins (4 ln 160 > 6)
    ("text-generation.random-contexts", dict(eps=0.1, delta=0.05, m=4, V=3), 4 * 4 * ln(160) / 0.01),
    ("vc.ssbd-agnostic-lower", dict(eps=0.05, delta=0.01, d=10), max(ln(25) / (2 * 0.0025), 10 / (512 * 0.0025))),
    ("sequence-tv.lower", dict(eps=0.1, delta=0.05, V=2, l=3, c_seq=1), (8 + ln(20)) / 0.01),
]


def test_constant_without_a_valid_default_must_be_passed():
    with pytest.raises(theory.MissingConstant, match="c_TV"):
        theory.get("tv.lower").n(eps=0.1, delta=0.05, V=8)
    assert theory.get("tv.lower").required_constants == ("c_TV",)


@pytest.mark.parametrize(("bound_id", "params", "expected"), HAND)
def test_value_matches_hand_computation(bound_id, params, expected):
    assert theory.get(bound_id).n(**params) == pytest.approx(expected, rel=1e-12)


def test_required_ids_present():
    required = {
        "paper.text-generation",
        "paper.text-generation-bounded",
        "paper.linear-classification",
        "paper.linear-classification-fixed",
        "hoeffding",
        "tv.bretagnolle-huber-carol",
        "tv.expectation-mcdiarmid",
        "text-generation.union",
        "linf.dkw",
        "finite-class.realizable",
        "finite-class.agnostic",
        "vc.blumer",
        "vc.ehkv-lower",
    }
    assert required <= set(theory.ids())
    assert theory.get("vc.ehkv-lower").kind == "lower"
    assert all(b.source == "paper" for b in theory.catalogue() if b.id.startswith("paper."))


def test_constant_is_a_keyword():
    b = theory.get("paper.linear-classification")
    assert b.n(eps=0.1, d=8, C=4) == pytest.approx(4 * b.n(eps=0.1, d=8))


@pytest.mark.parametrize("V", [2, 60, 1100, 50000])
def test_large_vocabulary_is_stable(V):
    exact = float(mpmath.log(mpmath.mpf(2) ** V - 2) - mpmath.log(0.05)) / (2 * 0.05**2)
    got = theory.get("tv.bretagnolle-huber-carol").n(eps=0.05, delta=0.05, V=V)
    assert np.isfinite(got)
    assert got == pytest.approx(exact, rel=1e-12)


def test_vectorized_broadcast():
    b = theory.get("text-generation.union")
    eps = np.geomspace(0.01, 0.5, 7)
    m = np.array([[1], [10], [100]])
    out = b.n(eps=eps, delta=0.05, m=m, V=50)
    assert out.shape == (3, 7)
    for i, mi in enumerate(m[:, 0]):
        for j, e in enumerate(eps):
            assert out[i, j] == pytest.approx(b.n(eps=float(e), delta=0.05, m=int(mi), V=50), rel=1e-14)


def test_scalar_in_scalar_out():
    assert isinstance(theory.get("hoeffding").n(eps=0.1, delta=0.05), float)


@pytest.mark.parametrize("bound", [b for b in theory.catalogue() if "eps" in b.parameters], ids=lambda b: b.id)
def test_eps_at_round_trip(bound):
    params = {"delta": 0.005, "m": 7, "V": 30, "l": 4, "d": 9}
    params = {k: v for k, v in params.items() if k in bound.parameters}
    params |= {c: 2.0 for c in bound.required_constants}
    eps = np.array([0.001, 0.01, 0.05, 0.12])
    eps = eps[eps < bound.eps_max]
    assert bound.eps_at(bound.n(eps=eps, **params), **params) == pytest.approx(eps, rel=1e-9)


def test_eps_at_closed_form_matches_hand():
    n = 1000.0
    assert theory.get("hoeffding").eps_at(n, delta=0.05) == pytest.approx(math.sqrt(ln(40) / (2 * n)), rel=1e-14)
    assert theory.get("hoeffding").eps_closed_form is not None
    assert theory.get("vc.blumer").eps_closed_form is None  # max(...): numeric root finding


def test_eps_at_rejects_too_few_samples():
    with pytest.raises(ValueError, match="n must be at least"):
        theory.get("hoeffding").eps_at(1.0, delta=0.05)  # ln(40)/2 = 1.84 samples needed even for eps -> 1


def test_eps_at_without_eps():
    with pytest.raises(ValueError, match="does not depend on eps"):
        theory.get("contexts.coverage").eps_at(100, m=3, delta=0.1)


def test_validity_conditions():
    b = theory.get("vc.ehkv-lower")
    with pytest.raises(theory.ValidityError, match="delta <= 1/100"):
        b.n(eps=0.1, delta=0.05, d=10)
    with pytest.raises(theory.ValidityError, match="eps <= 1/8"):
        b.n(eps=0.2, delta=0.005, d=10)
    with pytest.raises(theory.ValidityError, match="d >= 2"):
        b.n(eps=0.1, delta=0.005, d=1)
    with pytest.raises(theory.ValidityError, match="V >= 2"):
        theory.get("tv.bretagnolle-huber-carol").n(eps=0.1, delta=0.1, V=1)
    assert b.violations(eps=0.1, delta=0.005, d=10) == []


def test_metadata_complete():
    for b in theory.catalogue():
        assert b.kind in ("upper", "lower") and b.source in ("paper", "standard")
        assert b.metric and b.assumptions and b.citation.key and b.citation.locator and b.provenance
        assert b.order in ("O", "Omega", "Theta")
        assert b.latex().startswith(r"n \geq ")
        assert b.problem


def test_eps_at_at_the_validity_edge():
    """eps = 1/8 is valid for EHKV; its inverse must come back valid despite exp/log rounding."""
    b = theory.get("vc.ehkv-lower")
    n = b.n(eps=0.125, delta=0.005, d=10)
    assert b.eps_at(n, delta=0.005, d=10) == pytest.approx(0.125, rel=1e-12)


def test_eps_at_stays_inside_a_strict_condition():
    # eps < 1/2 is strict: the inverse just below 1/2 must not round up onto 1/2 and fail its own condition
    # (a case found by the thorough profile).
    bound = theory.get("text-generation.lower")
    params = {"delta": 4.428603210391642e-06, "m": 400847, "V": 78710, "c_m": 0.027303395368317915}
    e = 0.49999999999999994
    assert bound.eps_at(bound.n(eps=e, **params), **params) == pytest.approx(e, rel=1e-9)


def test_no_cancellation_near_the_edge_of_a_lower_bound():
    # ln(1/(4 delta)) near delta = 1/4 (found by the thorough profile): -ln(4 delta) keeps its relative accuracy.
    delta = 0.24999999999999997
    exact = float(mpmath.log(1 / (4 * mpmath.mpf(delta))) / (4 * mpmath.mpf(0.25) * mpmath.atanh(0.5)))
    assert theory.get("mean.lecam-lower").n(eps=0.25, delta=delta) == pytest.approx(exact, rel=1e-9)


def test_plot_draws_the_claim_its_references_and_the_region_below_a_lower_bound():
    """Two panels (eps, then d); with C = 1 and ln(1/delta) > d the claim falls under the EHKV lower bound
    (the audit's flag), which the figure shades; a user's bound is drawn against any bounds given."""
    from matplotlib.collections import PolyCollection

    fig = theory.plot(theory.get("paper.linear-classification"), params={"eps": 0.05, "delta": 1e-3, "d": 2})
    eps_panel, d_panel = fig.axes
    assert eps_panel.get_xscale() == "log" and d_panel.get_xlabel().startswith("d")
    labels = [line.get_label() for line in eps_panel.get_lines()]
    assert labels[0] == "paper.linear-classification* (claim)" and "vc.ehkv-lower (lower)" in labels
    assert any(isinstance(c, PolyCollection) for c in eps_panel.collections)  # the shaded region
    mine = theory.get("hoeffding")  # any Bound object, e.g. a user's
    alone = theory.plot(mine, against=[theory.get("mean.lecam-lower")])
    assert len(alone.axes) == 1  # no scaling parameter: n against eps only
    assert [line.get_label() for line in alone.axes[0].get_lines()] == [
        "hoeffding (claim)",
        "mean.lecam-lower (lower)",
    ]
