"""Concentration bounds for one bounded mean and for a distribution function, and coverage of random contexts."""

from __future__ import annotations

import sympy as sp

from theory import derivation as dv
from theory import lemmas
from theory.bound import Bound, Condition
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
    "with [0, 1] variables and both tails this is 2 exp(-2 n t^2).",
    problem="mean-estimation",
    derive=_hoeffding,
)

DKW_TAIL = 2 * sp.exp(-2 * n * t**2)
LINF_TAIL = 2 * sp.exp(-n * eps**2 / 2)


def _dkw_premise() -> dv.Step:
    return dv.premise(
        "DKW with Massart's constant: P(sup_x |F_n(x) - F(x)| > t) <= 2 exp(-2 n t^2) for every t > 0",
        sp.Le(P, DKW_TAIL),
        DKW_TAIL,
        "Massart 1990, two-sided form, no restriction on t",
    )


def _dkw() -> dv.Derivation:
    return dv.Derivation(
        "linf.dkw",
        (
            _dkw_premise(),
            lemmas.point_mass_vs_cdf(),
            dv.substitution(
                "A sup-norm error eps over point masses therefore needs a CDF error eps/2 (t = eps/2)",
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
BOOLE = "Boole's inequality (the union bound)"


def _coverage() -> dv.Derivation:
    miss = sp.exp(-n / m)
    return dv.Derivation(
        "contexts.coverage",
        (
            lemmas.miss_probability(),
            dv.quoted("P(some context unseen) <= sum over contexts of P(it is unseen)", sp.Le(P, COVERAGE_TAIL), BOOLE),
            lemmas.union_over_contexts(miss, m * sp.log(1 / delta)),
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


def _mean_lecam() -> dv.Derivation:
    return dv.Derivation(
        "mean.lecam-lower",
        (*lemmas.lecam_steps(), dv.conclude("With K = 4 eps atanh(2 eps)", LECAM_DERIVED, MEAN_LECAM.expr)),
    )


LECAM_EXPR = sp.log(1 / (4 * delta)) / lemmas.KL_BERNOULLI
LECAM_DERIVED = (sp.log(1 / (4 * delta)) / lemmas.K).subs(lemmas.K, lemmas.KL_BERNOULLI)
LECAM_CONDITIONS = (
    Condition(eps < sp.Rational(1, 2), "the two laws Bernoulli(1/2 +- eps) need eps < 1/2"),
    Condition(delta < sp.Rational(1, 4), "the bound (1/4) exp(-n K) >= delta says nothing for delta >= 1/4"),
)

MEAN_LECAM = Bound(
    id="mean.lecam-lower",
    title="Estimating one bounded mean to +-eps: Le Cam two-point lower bound",
    kind="lower",
    source="standard",
    metric="absolute error of any estimator of the mean of [0, 1] variables, worst case over laws",
    expr=LECAM_EXPR,
    order="Omega",
    rate=sp.log(1 / delta) / eps**2,
    assumptions=("any estimator from n i.i.d. observations", "worst case over Bernoulli(1/2 +- eps)"),
    conditions=LECAM_CONDITIONS,
    citation=cite("tsybakov2009", "Theorem 2.2 (iii) and Lemma 2.6"),
    provenance="Le Cam's two-point method: Tsybakov (2009), Thm 2.2 (iii) bounds the minimax error of testing two "
    "laws with KL(P_1, P_0) <= alpha below by (1/4) exp(-alpha); Bernoulli(1/2 +- eps) are 2 eps apart with "
    "KL = 4 eps atanh(2 eps) per example (checked below). As eps -> 0, n ~ ln(1/(4 delta)) / (8 eps^2): with "
    "Hoeffding this backs the Theta(ln(1/delta)/eps^2) of `hoeffding`.",
    problem="mean-estimation",
    derive=_mean_lecam,
)

MODE_TAIL = 2 * sp.exp(-n * eps**2 / 8)


def _mode() -> dv.Derivation:
    return dv.Derivation(
        "mode.dkw",
        (
            _dkw_premise(),
            lemmas.point_mass_vs_cdf(),
            lemmas.mode_gap(),
            dv.substitution(
                "A mode within eps needs point masses within eps/2, hence a CDF error eps/4 (t = eps/4)",
                DKW_TAIL,
                t,
                eps / 4,
                MODE_TAIL,
            ),
            *dv.solve_tail(MODE_TAIL, MODE.expr),
        ),
    )


MODE = Bound(
    id="mode.dkw",
    title="Most frequent output within eps of the best: DKW (free of V and l)",
    kind="upper",
    source="standard",
    metric="p(y*) - p(y_hat): probability gap between the true most frequent output and the empirical mode",
    expr=8 * sp.log(2 / delta) / eps**2,
    order="Theta",
    rate=sp.log(1 / delta) / eps**2,
    assumptions=(
        "n i.i.d. outputs from a law on a finite ordered set (e.g. the V^l strings of length l)",
        "estimator: the empirical mode",
    ),
    citation=cite("massart1990", "Theorem 1, applied to point masses at eps/2"),
    provenance="Reading of the bounded-context claim as 'find the most frequent output': the empirical mode is "
    "eps-good once every point mass is within eps/2 (checked below), which DKW (Massart 1990) guarantees at "
    "8 ln(2/delta)/eps^2 examples, whatever V and l. The Theta holds in eps and delta (two outputs eps apart, "
    "Le Cam).",
    problem="mode-identification",
    derive=_mode,
)

BOUNDS = (HOEFFDING, MEAN_LECAM, LINF_DKW, MODE, COVERAGE)
