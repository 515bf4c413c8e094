"""Audit ratios against hand computation, and the flags the issue asks for."""

import math

import pytest

from theory.audit import audit, entries

ln = math.log
P = dict(eps=0.1, delta=0.05, m=10, V=6, l=3, d=20)


def _entry(paper_id, params=P):
    return next(e for e in audit(**params) if e["id"] == paper_id)


def _ratio(entry, ref_id):
    return next(r for r in entry["references"] if r["id"] == ref_id)["ratio"]


def test_text_generation_ratios():
    e = _entry("paper.text-generation")
    # C m V ln(m/delta)/eps^2 over m ln((2^V - 2) m/delta)/(2 eps^2)
    assert _ratio(e, "text-generation.union") == pytest.approx(2 * 6 * ln(200) / ln(62 * 200), rel=1e-12)
    # over m max(V, 2 ln(m/delta))/eps^2 = m * 2 ln(200)/eps^2 here (2 ln 200 = 10.6 > 6)
    assert _ratio(e, "text-generation.mcdiarmid-union") == pytest.approx(6 / 2, rel=1e-12)


def test_bounded_and_classification_ratios():
    e = _entry("paper.text-generation-bounded")
    assert _ratio(e, "finite-class.agnostic") == pytest.approx(3 * ln(6) * ln(20) / (2 * (3 * ln(6) + ln(40))))
    e = _entry("paper.linear-classification", P | {"delta": 0.005})
    assert _ratio(e, "vc.ehkv-lower") == pytest.approx((20 / 0.1) / max(9 * ln(200), 19 / 3.2))
    e = _entry("paper.linear-classification-fixed")
    assert _ratio(e, "hoeffding") == pytest.approx(2 * ln(20) / ln(40))


def test_invalid_reference_gives_note_not_number():
    r = next(r for r in _entry("paper.linear-classification")["references"] if r["id"] == "vc.ehkv-lower")
    assert r["ratio"] is None and "delta <= 1/100" in r["note"]


def test_flags_cover_the_known_issues():
    flags = {e.paper_id: " ".join(e.flags) for e in entries()}
    assert "Product where a sum suffices" in flags["paper.text-generation"]
    assert "output length l is absent" in flags["paper.text-generation"]
    assert "is loose by a factor of order min(l ln V, ln(1/delta))" in flags["paper.text-generation-bounded"]
    assert "metric is inconsistent" in flags["paper.text-generation-bounded"]
    assert "Chernoff balancing" in flags["paper.text-generation"]
    assert "falls under the tight form" in flags["paper.text-generation"]
    assert "confidence term is dropped" in flags["paper.linear-classification"]
    assert "d-free bound cannot be a learning bound" in flags["paper.linear-classification-fixed"]


def test_ratio_function_matches_numbers():
    import sympy as sp

    from theory.symbols import SYMBOLS

    for entry in entries():
        numbers = entry.evaluate(P)
        for ref in numbers["references"]:
            if ref["ratio"] is None:
                continue
            expr = entry.ratios[ref["id"]]
            subs = {SYMBOLS[k]: v for k, v in P.items()} | {
                s: 1 for s in expr.free_symbols if s.name in ("C", "c_H", "c_TV", "c_1", "c_2")
            }
            assert float(sp.N(expr.subs(subs))) == pytest.approx(ref["ratio"], rel=1e-9)


def test_bounded_claim_is_audited_under_both_readings():
    import sympy as sp

    from theory.symbols import V, delta, l

    e = next(x for x in entries() if x.paper_id == "paper.text-generation-bounded")
    roles = {r.bound_id: r.role for r in e.references}
    assert "TV-over-outputs" in roles["sequence-tv.lower"] and "most-frequent" in roles["mode.dkw"]
    # TV reading: paper / lower -> 0 as l grows, whatever the constants: the claim is false under it.
    ratio = e.ratios["sequence-tv.lower"].subs({V: 2, delta: sp.Rational(1, 20)})
    assert sp.limit(ratio, l, sp.oo) == 0
    # Most-frequent reading: a number free of l and V at the defaults.
    out = e.evaluate(P)
    mode = next(r for r in out["references"] if r["id"] == "mode.dkw")
    assert mode["n"] == pytest.approx(8 * ln(2 / P["delta"]) / P["eps"] ** 2)
