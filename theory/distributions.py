"""Learning discrete distributions in total variation: one distribution over V outcomes, and m of them."""

from __future__ import annotations

import sympy as sp

from theory import derivation as dv
from theory import lemmas
from theory.bound import Bound, Condition
from theory.citations import cite
from theory.concentration import BOOLE, LECAM_CONDITIONS, LECAM_DERIVED, LECAM_EXPR
from theory.symbols import V, delta, eps, l, m, n

t = sp.Symbol("t", positive=True)
P = sp.Symbol("P_fail")
ETV = sp.Symbol("E_TV")
SUBSETS = 2**V - 2  # non-trivial subsets of the V outcomes
V_AT_LEAST_2 = Condition(V >= 2, "the union runs over the 2^V - 2 non-trivial subsets, empty when V = 1")
EPS_BELOW_HALF = Condition(
    eps < sp.Rational(1, 2),
    "the uniform law is within 1 - 1/V of every law in TV with no sample at all (1/2 at V = 2), so no lower "
    "bound can hold for every V beyond eps = 1/2",
)

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
        lemmas.tv_is_half_l1(),
        dv.substitution("TV >= eps is L1 >= 2 eps: substitute t = 2 eps", L1_TAIL, t, 2 * eps, TV_TAIL),
    ]


def _bhc() -> dv.Derivation:
    steps = (*_bhc_steps(), *dv.solve_tail(TV_TAIL, BHC.expr), lemmas.log_subsets())
    return dv.Derivation("tv.bretagnolle-huber-carol", steps)


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
    conc_tail = tail_scale * sp.exp(-n * eps**2 / 2)  # written out: the substitution step checks it
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
        lemmas.expectation_split(),
        dv.substitution(
            "Substitute the deviation t = eps/2"
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
    "A sqrt((k-1)/n) form is slightly tighter; we follow the source (k).",
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
    conditions=(V_AT_LEAST_2, EPS_BELOW_HALF),
    constants={c_tv: None},
    citation=cite("canonne2020", "Theorem 1 (lower bound via Assouad's lemma and coin-bias estimation)"),
    provenance="Canonne (2020), Thm 1 states Theta((k + log(1/delta))/eps^2) and sketches the lower bound; the "
    "universal constant c_TV is not given. No default is shipped: with c_TV = 1 the formula exceeds valid upper "
    "bounds (e.g. tv.bretagnolle-huber-carol at V = 2, eps = 0.01, delta = 1e-6), so it must be passed. "
    "tv.lecam-lower is the explicit part in delta.",
    problem="tv-distribution",
)


def _tv_lecam() -> dv.Derivation:
    return dv.Derivation(
        "tv.lecam-lower",
        (
            dv.quoted(
                "Put both laws on two of the V outcomes: Bernoulli(1/2 +- eps) are 2 eps apart in TV, so learning "
                "in TV to eps is at least as hard as estimating their mean to eps",
                sp.Eq(sp.Symbol("TV"), sp.Symbol("|mean error|"), evaluate=False),
                "TV of two laws on two outcomes equals the difference of their masses on one outcome",
            ),
            *lemmas.lecam_steps(),
            dv.conclude("With K = 4 eps atanh(2 eps)", LECAM_DERIVED, TV_LECAM.expr),
        ),
    )


TV_LECAM = Bound(
    id="tv.lecam-lower",
    title="TV learning of one distribution: Le Cam two-point lower bound (explicit)",
    kind="lower",
    source="standard",
    metric="TV between any estimator's output and p, in the worst case over p",
    expr=LECAM_EXPR,
    order="Omega",
    rate=sp.log(1 / delta) / eps**2,
    assumptions=("any estimator from n i.i.d. draws", "worst case over two laws on two of the V >= 2 outcomes"),
    conditions=LECAM_CONDITIONS,
    citation=cite("tsybakov2009", "Theorem 2.2 (iii) and Lemma 2.6"),
    provenance="Le Cam's two-point method with the Bretagnolle-Huber bound (Tsybakov 2009, Thm 2.2 (iii)); the "
    "same two laws as mean.lecam-lower, embedded in V >= 2 outcomes (the formula does not depend on V).",
    problem="tv-distribution",
    derive=_tv_lecam,
)


def _union() -> dv.Derivation:
    tail = m * TV_TAIL
    steps = (
        *_bhc_steps(),
        *dv.solve_tail(TV_TAIL, BHC.expr, what="n per context"),
        dv.quoted("P(some context has TV >= eps) <= sum over the m contexts", sp.Le(P, tail), BOOLE),
        lemmas.union_over_contexts(TV_TAIL, BHC.expr),
        dv.conclude("Total examples N = m n(delta/m)", m * BHC.expr.subs(delta, delta / m), UNION.expr),
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
    total = dv.conclude(
        "n = max(V/eps^2, 2 ln(m/delta)/eps^2) per context meets both requirements; total N = m n",
        m * sp.Max(a, b),
        MCDIARMID_UNION.expr,
    )
    return dv.Derivation("text-generation.mcdiarmid-union", (*steps, total))


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


def _random_contexts() -> dv.Derivation:
    theta, mu = sp.Symbol("theta", positive=True), sp.Symbol("mu", positive=True)
    alloc_tail = 2 * m * sp.exp(-n / (8 * m))  # two halves of delta: allocation, then learning
    per_context = sp.Max(V / eps**2, 2 * sp.log(2 * m / delta) / eps**2)
    steps = (
        dv.quoted(
            "Chernoff lower tail for the count X ~ Binomial(N, 1/m) of one context, mean mu = N/m: "
            "P(X <= (1 - theta) mu) <= exp(-mu theta^2 / 2)",
            sp.Le(P, sp.exp(-mu * theta**2 / 2)),
            "Mitzenmacher & Upfal 2017, Thm 4.5 (2)",
        ),
        lemmas.chernoff_half(),
        dv.quoted(
            "Union over the m contexts, at failure probability delta/2: P(some context gets <= N/(2m)) <= "
            "m exp(-N/(8m)) <= delta/2",
            sp.Le(P, alloc_tail / 2),
            BOOLE,
        ),
        *dv.solve_tail(alloc_tail, 8 * m * sp.log(2 * m / delta), what="N"),
        dv.quoted(
            "Given the counts, each context's examples are i.i.d. from its law; expectation + McDiarmid per "
            "context at delta/(2m) needs n_c = max(V/eps^2, 2 ln(2m/delta)/eps^2) (text-generation.mcdiarmid-union "
            "at delta/2)",
            sp.Eq(sp.Symbol("n_c"), per_context, evaluate=False),
            "catalogue: text-generation.mcdiarmid-union",
        ),
        dv.conclude(
            "Every context holds > N/(2m) >= n_c examples once N >= 2 m n_c; with the allocation requirement, "
            "N = m max(2 n_c, 8 ln(2m/delta))",
            m * sp.Max(*[2 * arg for arg in per_context.args], 8 * sp.log(2 * m / delta)),
            RANDOM_CONTEXTS.expr,
        ),
    )
    return dv.Derivation("text-generation.random-contexts", steps)


RANDOM_CONTEXTS = Bound(
    id="text-generation.random-contexts",
    title="m contexts drawn at random, each learned in TV: Chernoff balancing + expectation + McDiarmid",
    kind="upper",
    source="standard",
    metric="max over the m contexts of TV(next-token law estimate, true law)",
    expr=m * sp.Max(2 * V / eps**2, 4 * sp.log(2 * m / delta) / eps**2, 8 * sp.log(2 * m / delta)),
    order="Theta",
    rate=m * (V + sp.log(m / delta)) / eps**2,
    conditions=(
        Condition(
            eps <= 1 / sp.sqrt(2),
            "above it the allocation term 8 m ln(2m/delta) alone sets N, which then no longer depends on eps",
        ),
    ),
    assumptions=(
        "each example's context drawn i.i.d. uniformly from the m contexts (the paper's setting)",
        "estimator: empirical next-token frequencies per context",
        "non-uniform context law pi: replace m by 1/min_i pi_i (each context's mean count is N pi_i)",
    ),
    citation=cite("mitzenmacher2017", "Theorem 4.5 (Chernoff lower tail), with Canonne 2020, Thm 1"),
    provenance="Chernoff's lower tail at theta = 1/2 (Mitzenmacher & Upfal 2017, Thm 4.5) and a union over "
    "contexts give every context at least N/(2m) examples w.p. 1 - delta/2 once N >= 8 m ln(2m/delta); "
    "expectation + McDiarmid per context at delta/(2m) then needs N/(2m) >= n_c. This is the correction the "
    "coverage argument alone misses: seeing every context once is not learning it.",
    problem="text-generation",
    derive=_random_contexts,
)


def _contexts_lecam() -> dv.Derivation:
    f = sp.log(1 - sp.exp(-n * lemmas.K) / 4)
    curvature = sp.diff(f, n, 2).subs(sp.exp(-n * lemmas.K), 1 / (1 + lemmas.u))  # exp(-nK) = 1/(1 + u) in (0, 1]
    concave = dv.Step(
        "ln(1 - exp(-n K)/4) is concave in n, so for a fixed total N the chance that all m contexts succeed, "
        "prod_i (1 - exp(-n_i K)/4), is largest at equal allocation n_i = N/m",
        sp.Le(sp.diff(f, n, 2), 0, evaluate=False),
        "checked",
        dv.nonnegative(-curvature),
        "sympy: minus the second derivative is nonnegative, writing exp(-n K) = 1/(1 + u) with u >= 0",
    )
    per = sp.log(m / (8 * sp.log(2) * delta)) / lemmas.K
    return dv.Derivation(
        "text-generation.lecam-lower",
        (
            *lemmas.lecam_steps("n per context")[:3],
            dv.quoted(
                "Under a uniform prior over the 2^m choices of the laws, the contexts' data are independent, so "
                "P(all m succeed) <= prod_i (1 - exp(-n_i K)/4)",
                sp.Le(
                    sp.Symbol("P_success"),
                    sp.Product(1 - sp.exp(-sp.Symbol("n_i") * lemmas.K) / 4, (sp.Symbol("i"), 1, m)),
                ),
                "Tsybakov 2009, Lemma 2.6 (Bretagnolle-Huber) per context; product prior",
            ),
            concave,
            dv.quoted(
                "Success 1 - delta at equal allocation needs exp(-nK)/4 <= 1 - (1 - delta)^(1/m) <= "
                "ln(1/(1 - delta))/m <= 2 ln(2) delta / m for delta <= 1/2",
                sp.Le(sp.exp(-n * lemmas.K) / 4, 2 * sp.log(2) * delta / m),
                "exp(-x) >= 1 - x, and -ln(1 - delta)/delta is increasing with value 2 ln 2 at delta = 1/2",
            ),
            *dv.solve_lower_tail(m * sp.exp(-n * lemmas.K) / (8 * sp.log(2)), per, "n per context"),
            dv.conclude(
                "Total N = m n with K = 4 eps atanh(2 eps)",
                (m * per).subs(lemmas.K, lemmas.KL_BERNOULLI),
                CONTEXTS_LECAM.expr,
            ),
        ),
    )


CONTEXTS_LECAM = Bound(
    id="text-generation.lecam-lower",
    title="m contexts, each learned in TV: Le Cam lower bound (explicit, the ln(m/delta) part)",
    kind="lower",
    source="standard",
    metric="max over the m contexts of TV between any estimate and the true law, worst case over laws",
    expr=m * sp.log(m / (8 * sp.log(2) * delta)) / lemmas.KL_BERNOULLI,
    order="Omega",
    rate=m * sp.log(m / delta) / eps**2,
    assumptions=(
        "any estimator; any allocation of the N examples over the m contexts (fixed, or random and "
        "independent of the laws)",
        "worst case over two laws on two of the V >= 2 outcomes in each context",
    ),
    conditions=(
        Condition(eps < sp.Rational(1, 2), "the two laws Bernoulli(1/2 +- eps) need eps < 1/2"),
        Condition(
            delta <= sp.Rational(1, 8),
            "uses ln(1/(1 - delta)) <= 2 ln(2) delta (delta <= 1/2) and needs m / (8 ln(2) delta) > 1 for every m >= 1",
        ),
    ),
    citation=cite("tsybakov2009", "Theorem 2.2 (iii) and Lemma 2.6, per context"),
    provenance="Le Cam's two-point method in each context under a product prior: all m contexts succeed with "
    "probability at most prod_i (1 - exp(-n_i K)/4), largest at equal allocation (concavity, checked). Backs the "
    "ln(m/delta) of the tight Theta(m (V + ln(m/delta))/eps^2).",
    problem="text-generation",
    derive=_contexts_lecam,
)

c_m = sp.Symbol("c_m", positive=True)
CONTEXTS_LOWER = Bound(
    id="text-generation.lower",
    title="m contexts, each learned in TV: minimax lower bound (constant unspecified)",
    kind="lower",
    source="standard",
    metric="max over the m contexts of TV between any estimate and the true law, worst case over laws",
    expr=c_m * m * (V + sp.log(m / delta)) / eps**2,
    order="Omega",
    rate=m * (V + sp.log(m / delta)) / eps**2,
    assumptions=("any estimator, any allocation over contexts", "worst case over the m laws on V outcomes"),
    conditions=(V_AT_LEAST_2, EPS_BELOW_HALF),
    constants={c_m: None},
    citation=cite("canonne2020", "Theorem 1 (lower bound), in each of the m contexts"),
    provenance="Every context must itself be learned with probability >= 1 - delta, so each needs the "
    "one-distribution lower bound Omega(V/eps^2) (Canonne 2020, Thm 1), and the product prior of "
    "text-generation.lecam-lower adds Omega(m ln(m/delta)/eps^2). The universal constant c_m is not given: it "
    "must be passed; text-generation.lecam-lower is the explicit part.",
    problem="text-generation",
)

c_seq = sp.Symbol("c_seq", positive=True)
SEQUENCE_TV_LOWER = Bound(
    id="sequence-tv.lower",
    title="TV over whole length-l outputs (V^l outcomes): minimax lower bound (constant unspecified)",
    kind="lower",
    source="standard",
    metric="TV between any estimate of the law of length-l outputs and the true law",
    expr=c_seq * (V**l + sp.log(1 / delta)) / eps**2,
    order="Omega",
    rate=(V**l + sp.log(1 / delta)) / eps**2,
    assumptions=(
        "outputs are strings of length l over V tokens: a law on k = V^l outcomes",
        "any estimator from n i.i.d. outputs; worst case over laws",
    ),
    conditions=(V_AT_LEAST_2, EPS_BELOW_HALF),
    constants={c_seq: None},
    citation=cite("canonne2020", "Theorem 1 (lower bound) with k = V^l outcomes"),
    provenance="Canonne (2020), Thm 1, Theta((k + log(1/delta))/eps^2) with k = V^l: reading the bounded-context "
    "claim as TV over whole outputs makes it false, since l ln V ln(1/delta) / (V^l + ln(1/delta)) -> 0 for every "
    "pair of constants. c_seq is not given and must be passed.",
    problem="sequence-tv",
)

BOUNDS = (
    BHC,
    MCDIARMID,
    TV_LECAM,
    TV_LOWER,
    UNION,
    MCDIARMID_UNION,
    RANDOM_CONTEXTS,
    CONTEXTS_LECAM,
    CONTEXTS_LOWER,
    SEQUENCE_TV_LOWER,
)
