"""Concentration bounds for one bounded mean and for a distribution function, and coverage of random contexts."""

from __future__ import annotations

import sympy as sp

from theory import derivation as dv
from theory.bound import Bound
from theory.citations import cite
from theory.symbols import delta, eps, m, n

t = sp.Symbol("t", positive=True)  # the deviation in a quoted tail, before it is set to a multiple of eps
P = sp.Symbol("P_fail")

HOEFFDING_TAIL = 2 * sp.exp(-2 * n * eps**2)


def _hoeffding() -> dv.Derivation:
    return dv.Derivation(
        "hoeffding",
        (
            dv.premise(
                "Two-sided Hoeffding for the mean of n i.i.d. [0, 1] variables: "
                "P(|mean - mu| >= eps) <= 2 exp(-2 n eps^2)",
                sp.Le(P, HOEFFDING_TAIL),
                HOEFFDING_TAIL,
                "Hoeffding 1963, Thm 2 with b_i - a_i = 1, both tails",
            ),
            *dv.solve_tail(HOEFFDING_TAIL, HOEFFDING.expr),
        ),
    )


HOEFFDING = Bound(
    id="hoeffding",
    title="Hoeffding: estimating one bounded mean to +-eps",
    kind="upper",
    source="standard",
    metric="absolute error of an empirical mean of [0, 1] variables",
    expr=sp.log(2 / delta) / (2 * eps**2),
    order="Theta",
    rate=sp.log(1 / delta) / eps**2,
    assumptions=("n i.i.d. observations with values in [0, 1]", "two-sided deviation |mean - mu| >= eps"),
    citation=cite("hoeffding1963", "Theorem 2"),
    provenance="Theorem 2 of Hoeffding (1963) gives P(mean - mu >= t) <= exp(-2 n^2 t^2 / sum (b_i - a_i)^2); "
    "with [0, 1] variables and both tails this is 2 exp(-2 n t^2). Standard; matches DESIGN.md.",
    problem="mean-estimation",
    derive=_hoeffding,
)

DKW_TAIL = 2 * sp.exp(-2 * n * t**2)
LINF_TAIL = 2 * sp.exp(-n * eps**2 / 2)


def _dkw() -> dv.Derivation:
    return dv.Derivation(
        "linf.dkw",
        (
            dv.premise(
                "DKW with Massart's constant: P(sup_x |F_n(x) - F(x)| > t) <= 2 exp(-2 n t^2) for every t > 0",
                sp.Le(P, DKW_TAIL),
                DKW_TAIL,
                "Massart 1990, two-sided form, no restriction on t",
            ),
            dv.substitution(
                "Each point mass is a difference of two CDF values, so |p_n(i) - p(i)| <= 2 sup|F_n - F|: "
                "a sup-norm error eps needs a CDF error eps/2 (t = eps/2)",
                DKW_TAIL,
                t,
                eps / 2,
                LINF_TAIL,
            ),
            *dv.solve_tail(LINF_TAIL, LINF_DKW.expr),
        ),
    )


LINF_DKW = Bound(
    id="linf.dkw",
    title="Sup-norm over point masses via DKW (independent of V)",
    kind="upper",
    source="standard",
    metric="max_i |p_n(i) - p(i)| (sup-norm over point masses)",
    expr=2 * sp.log(2 / delta) / eps**2,
    order="Theta",
    rate=sp.log(1 / delta) / eps**2,
    assumptions=("n i.i.d. draws from a distribution on an ordered finite set", "empirical frequencies p_n"),
    citation=cite("massart1990", "Theorem 1 (two-sided DKW inequality with constant 2)"),
    provenance="Checked against Massart (1990), abstract: P(sqrt(n) sup|F_n - F| > lambda) <= 2 exp(-2 lambda^2) "
    "holds without restriction on lambda. The factor 2 between point masses and the CDF gives 2 ln(2/delta)/eps^2, "
    "the table's formula.",
    problem="linf-distribution",
    derive=_dkw,
)

COVERAGE_TAIL = m * sp.exp(-n / m)


def _coverage() -> dv.Derivation:
    return dv.Derivation(
        "contexts.coverage",
        (
            dv.premise(
                "A given context is missed by n uniform draws with probability (1 - 1/m)^n <= exp(-n/m); "
                "a union bound over the m contexts gives P(some context unseen) <= m exp(-n/m)",
                sp.Le(P, COVERAGE_TAIL),
                COVERAGE_TAIL,
                "union bound as in the coupon collector analysis, Mitzenmacher & Upfal",
            ),
            *dv.solve_tail(COVERAGE_TAIL, COVERAGE.expr),
        ),
    )


COVERAGE = Bound(
    id="contexts.coverage",
    title="Coverage: every one of m uniformly drawn contexts appears at least once",
    kind="upper",
    source="standard",
    metric="probability that some context has no example",
    expr=m * sp.log(m / delta),
    order="Theta",
    rate=m * sp.log(m / delta),
    assumptions=("examples' contexts drawn i.i.d. uniformly from m contexts",),
    citation=cite("mitzenmacher2017", "coupon collector's problem (Sec. 2.4.1 and Sec. 5.4.1)"),
    provenance="Elementary: (1 - 1/m)^n <= exp(-n/m) and a union bound, as in the coupon collector analysis of "
    "Mitzenmacher & Upfal; the derivation below checks the algebra. Section numbers recalled, not re-checked.",
    problem="coverage",
    derive=_coverage,
)

BOUNDS = (HOEFFDING, LINF_DKW, COVERAGE)
