"""Learning discrete distributions in total variation: one distribution over V outcomes, and m of them."""

from __future__ import annotations

import sympy as sp

from theory import derivation as dv
from theory.bound import Bound, Condition
from theory.citations import cite
from theory.symbols import V, delta, eps, m, n

t = sp.Symbol("t", positive=True)
P = sp.Symbol("P_fail")
ETV = sp.Symbol("E_TV")
SUBSETS = 2**V - 2  # non-trivial subsets of the V outcomes
V_AT_LEAST_2 = Condition(V >= 2, "the union runs over the 2^V - 2 non-trivial subsets, empty when V = 1")

# Weissman et al. (2003), Thm 2.1: P(||p_n - p||_1 >= t) <= (2^V - 2) exp(-n t^2 / 2); TV = L1 / 2.
L1_TAIL = SUBSETS * sp.exp(-n * t**2 / 2)
TV_TAIL = SUBSETS * sp.exp(-2 * n * eps**2)
WEISSMAN = "Weissman et al. 2003, Thm 2.1"


def _bhc_steps() -> list[dv.Step]:
    return [
        dv.premise(
            "L1 deviation of the empirical distribution over V outcomes (union over the 2^V - 2 non-trivial "
            "subsets S of Hoeffding for p_n(S)): P(||p_n - p||_1 >= t) <= (2^V - 2) exp(-n t^2 / 2)",
            sp.Le(P, L1_TAIL),
            L1_TAIL,
            WEISSMAN,
        ),
        dv.substitution("TV = ||.||_1 / 2, so TV >= eps is L1 >= 2 eps (t = 2 eps)", L1_TAIL, t, 2 * eps, TV_TAIL),
    ]


def _bhc() -> dv.Derivation:
    return dv.Derivation("tv.bretagnolle-huber-carol", (*_bhc_steps(), *dv.solve_tail(TV_TAIL, BHC.expr)))


BHC = Bound(
    id="tv.bretagnolle-huber-carol",
    title="TV learning of one distribution: union over subsets (Bretagnolle-Huber-Carol)",
    kind="upper",
    source="standard",
    metric="TV(p_n, p) for the empirical distribution p_n",
    expr=sp.log(SUBSETS / delta) / (2 * eps**2),
    order="O",
    rate=(V + sp.log(1 / delta)) / eps**2,
    assumptions=("n i.i.d. draws from p on V outcomes", "estimator: empirical frequencies"),
    conditions=(V_AT_LEAST_2,),
    citation=cite("weissman2003", "Theorem 2.1"),
    provenance="Weissman et al. (2003), Thm 2.1: P(||p_n - p||_1 >= t) <= (2^k - 2) exp(-n t^2/2). With TV = L1/2 "
    "this is (2^V - 2) exp(-2 n eps^2), the table's formula. Constant recalled from the report; the Hoeffding "
    "argument behind it is re-derived in the docs.",
    problem="tv-distribution",
    derive=_bhc,
)

# Canonne (2020), Thm 1, first proof: E TV <= (1/2) sqrt(V/n) (Jensen + Cauchy-Schwarz); TV has bounded
# differences 1/n, so McDiarmid gives P(TV - E TV >= t) <= exp(-2 n t^2).
MCD_TAIL = sp.exp(-2 * n * t**2)


def _mcdiarmid_steps(tail_scale: sp.Expr) -> tuple[list[dv.Step], sp.Expr, sp.Expr]:
    """Expectation + McDiarmid, with a union over `tail_scale` distributions (1 for one distribution)."""
    conc_tail = tail_scale * MCD_TAIL.subs(t, eps / 2)
    conc_n = 2 * sp.log(tail_scale / delta) / eps**2
    steps = [
        dv.premise(
            "Expected TV of the empirical distribution: E TV <= (1/2) sum_i sqrt(p_i/n) <= (1/2) sqrt(V/n)",
            sp.Le(ETV, sp.sqrt(V / n) / 2),
            sp.sqrt(V / n) / 2,
            "Canonne 2020, Thm 1, first proof (Jensen, then Cauchy-Schwarz)",
        ),
        dv.solve_for_n("E TV <= eps/2 once n >= V/eps^2", sp.sqrt(V / n) / 2, eps / 2, V / eps**2),
        dv.premise(
            "McDiarmid: one sample moves TV by at most 1/n, so P(TV - E TV >= t) <= exp(-2 n t^2)",
            sp.Le(P, MCD_TAIL),
            MCD_TAIL,
            "McDiarmid's bounded-differences inequality, as used in Canonne 2020, Thm 1",
        ),
        dv.substitution(
            "With E TV <= eps/2, TV >= eps needs a deviation t = eps/2"
            + ("" if tail_scale == 1 else "; a union over the m contexts multiplies the tail by m"),
            tail_scale * MCD_TAIL,
            t,
            eps / 2,
            conc_tail,
        ),
        *dv.solve_tail(conc_tail, conc_n),
    ]
    return steps, V / eps**2, conc_n


def _mcdiarmid() -> dv.Derivation:
    steps, a, b = _mcdiarmid_steps(sp.Integer(1))
    close = dv.dominates("n >= max(V/eps^2, 2 ln(1/delta)/eps^2) meets both requirements", MCDIARMID.expr, [a, b])
    return dv.Derivation("tv.expectation-mcdiarmid", (*steps, close))


MCDIARMID = Bound(
    id="tv.expectation-mcdiarmid",
    title="TV learning of one distribution: expectation plus McDiarmid (order-optimal)",
    kind="upper",
    source="standard",
    metric="TV(p_n, p) for the empirical distribution p_n",
    expr=sp.Max(V / eps**2, 2 * sp.log(1 / delta) / eps**2),
    order="Theta",
    rate=(V + sp.log(1 / delta)) / eps**2,
    assumptions=("n i.i.d. draws from p on V outcomes", "estimator: empirical frequencies"),
    citation=cite("canonne2020", "Theorem 1, first proof"),
    provenance="Checked against Canonne (2020), Thm 1 and its first proof: E TV <= (1/2) sqrt(k/n) and McDiarmid "
    "with bounded differences 1/n give TV <= eps w.p. 1 - delta once n >= max(k/eps^2, 2 ln(1/delta)/eps^2). "
    "DESIGN.md's sqrt((k-1)/n) is slightly tighter; we follow the source (k).",
    problem="tv-distribution",
    derive=_mcdiarmid,
)

c_tv = sp.Symbol("c_TV", positive=True)
TV_LOWER = Bound(
    id="tv.lower",
    title="TV learning of one distribution: minimax lower bound (constant unspecified)",
    kind="lower",
    source="standard",
    metric="TV between any estimator's output and p, in the worst case over p",
    expr=c_tv * (V + sp.log(1 / delta)) / eps**2,
    order="Omega",
    rate=(V + sp.log(1 / delta)) / eps**2,
    assumptions=("any estimator from n i.i.d. draws", "worst case over distributions on V outcomes"),
    constants={c_tv: 1.0},
    citation=cite("canonne2020", "Theorem 1 (lower bound via Assouad's lemma and coin-bias estimation)"),
    provenance="Canonne (2020), Thm 1 states Theta((k + log(1/delta))/eps^2) and sketches the lower bound; the "
    "universal constant c_TV is not given, so it stays symbolic (default 1 gives the order only).",
    problem="tv-distribution",
)


def _union() -> dv.Derivation:
    tail = m * TV_TAIL
    per_context = sp.log(SUBSETS * m / delta) / (2 * eps**2)
    steps = (
        *_bhc_steps(),
        dv.premise(
            "Union bound over the m contexts, n examples in each: P(some context has TV >= eps) <= m (2^V - 2) "
            "exp(-2 n eps^2)",
            sp.Le(P, tail),
            tail,
            "union bound",
        ),
        *dv.solve_tail(tail, per_context, what="n per context"),
        dv.identity("Total examples N = m n", m * per_context, UNION.expr),
    )
    return dv.Derivation("text-generation.union", steps)


UNION = Bound(
    id="text-generation.union",
    title="m contexts, each learned in TV: subset union per context, union over contexts",
    kind="upper",
    source="standard",
    metric="max over the m contexts of TV(next-token law estimate, true law)",
    expr=m * sp.log(SUBSETS * m / delta) / (2 * eps**2),
    order="O",
    rate=m * (V + sp.log(m / delta)) / eps**2,
    assumptions=(
        "examples allocated per context: n = N/m i.i.d. next tokens for each of the m contexts",
        "estimator: empirical next-token frequencies per context",
    ),
    conditions=(V_AT_LEAST_2,),
    citation=cite("weissman2003", "Theorem 2.1, with a union bound over contexts"),
    provenance="Weissman et al. (2003), Thm 2.1 at delta/m per context; total N = m n. Matches the table.",
    problem="text-generation",
    derive=_union,
)


def _mcdiarmid_union() -> dv.Derivation:
    steps, a, b = _mcdiarmid_steps(m)
    close = dv.dominates("n >= max(V/eps^2, 2 ln(m/delta)/eps^2) per context meets both", sp.Max(a, b), [a, b])
    total = dv.identity("Total examples N = m n", m * sp.Max(a, b), MCDIARMID_UNION.expr)
    return dv.Derivation("text-generation.mcdiarmid-union", (*steps, close, total))


MCDIARMID_UNION = Bound(
    id="text-generation.mcdiarmid-union",
    title="m contexts, each learned in TV: expectation + McDiarmid per context (order-optimal total)",
    kind="upper",
    source="standard",
    metric="max over the m contexts of TV(next-token law estimate, true law)",
    expr=m * sp.Max(V / eps**2, 2 * sp.log(m / delta) / eps**2),
    order="Theta",
    rate=m * (V + sp.log(m / delta)) / eps**2,
    assumptions=(
        "examples allocated per context: n = N/m i.i.d. next tokens for each of the m contexts",
        "estimator: empirical next-token frequencies per context",
    ),
    citation=cite("canonne2020", "Theorem 1, first proof, with a union bound over contexts"),
    provenance="Canonne (2020), Thm 1 at delta/m per context; the sum V + ln(m/delta) (not the paper's product) is "
    "the tight order for m distributions.",
    problem="text-generation",
    derive=_mcdiarmid_union,
)

BOUNDS = (BHC, MCDIARMID, TV_LOWER, UNION, MCDIARMID_UNION)
