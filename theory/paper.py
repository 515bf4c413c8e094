"""The paper's four claims (Sharma 2025, arXiv:2506.08060, abstract), with C the unspecified big-O constant.

The body of the paper is not available to us: each bound is the abstract's O(.) expression with an explicit
constant C (default 1), and our reading of what it bounds (see docs and theory.audit). None is derived here.
"""

from __future__ import annotations

import sympy as sp

from theory import derivation as dv
from theory import lemmas
from theory.bound import Bound, Condition
from theory.citations import cite
from theory.symbols import C, V, d, delta, eps, l, m

ABSTRACT = cite("sharma2025", "abstract")
UNSPECIFIED = "Quoted from the abstract as an O(.) statement; the constant C is not given and defaults to 1."


def _text_generation() -> dv.Derivation:
    """Under our reading the claim holds with C = 4 wherever ln(m/delta) >= 1: it dominates the tight form."""
    L = sp.Symbol("L", positive=True)  # ln(m/delta)
    u, w = lemmas.u, lemmas.w
    tight = m * sp.Max(V / eps**2, 2 * L / eps**2)
    return dv.Derivation(
        "paper.text-generation",
        (
            dv.quoted(
                "Expectation + McDiarmid per context and a union over the m contexts: N = m max(V, 2 L)/eps^2 "
                "examples suffice, with L = ln(m/delta)",
                sp.Eq(sp.Symbol("N"), tight, evaluate=False),
                "catalogue: text-generation.mcdiarmid-union (derived there)",
            ),
            lemmas.max_le_sum(),
            dv.inequality("V + 2 L <= 2 (V + L) for V, L >= 0", V + 2 * L, 2 * (V + L)),
            lemmas.product_vs_sum(),
            dv.inequality(
                "Hence m (V + 2 L)/eps^2 <= 4 m V L/eps^2, the paper's form with C = 4, whenever V >= 1 and "
                "L = ln(m/delta) >= 1 (below L = 1 the product form falls under the tight form)",
                m * ((1 + u) + 2 * (1 + w)) / eps**2,
                4 * m * (1 + u) * (1 + w) / eps**2,
                how="V = 1 + u, L = 1 + w with u, w >= 0",
            ),
        ),
    )


TEXT_GENERATION = Bound(
    id="paper.text-generation",
    title="Paper: text generation, all examples in context",
    kind="upper",
    source="paper",
    metric="max over m contexts of TV(ICL next-token law, fine-tuned next-token law)",
    expr=C * m * V / eps**2 * sp.log(m / delta),
    order="O",
    rate=m * V / eps**2 * sp.log(m / delta),
    assumptions=(
        "m contexts, vocabulary V, outputs of length l; all examples fit in the context window",
        "examples drawn from the fine-tuned model's law (our reading)",
        "per-context TV concentration plus a union bound over the m contexts (our reading)",
    ),
    constants={C: 1.0},
    citation=ABSTRACT,
    provenance=UNSPECIFIED + " Under our reading it follows from text-generation.mcdiarmid-union with C = 4 when "
    "ln(m/delta) >= 1 (the derivation below): true, but loose by the factor of a product over a sum.",
    problem="text-generation",
    derive=_text_generation,
)

TEXT_GENERATION_BOUNDED = Bound(
    id="paper.text-generation-bounded",
    title="Paper: text generation, bounded context with retrieval",
    kind="upper",
    source="paper",
    metric="TV between ICL and fine-tuned laws over outputs, for the query's context (our reading)",
    expr=C * l * sp.log(V) / eps**2 * sp.log(1 / delta),
    order="O",
    rate=l * sp.log(V) / eps**2 * sp.log(1 / delta),
    assumptions=(
        "bounded context window; retrieval places only the query's examples in the prompt",
        "a union over the V^l possible outputs (ln V^l = l ln V; our reading)",
    ),
    conditions=(Condition(V >= 2, "with V = 1 there is one output and the formula gives 0 examples"),),
    constants={C: 1.0},
    citation=ABSTRACT,
    provenance=UNSPECIFIED,
    problem="finite-class-agnostic",
)

LINEAR_CLASSIFICATION = Bound(
    id="paper.linear-classification",
    title="Paper: linear classification in context",
    kind="upper",
    source="paper",
    metric="0-1 error of the in-context predictor",
    expr=C * d / eps,
    order="O",
    rate=d / eps,
    assumptions=("halfspaces in R^d", "realizable (our reading: realizable PAC via VC dimension d)"),
    constants={C: 1.0},
    citation=ABSTRACT,
    provenance=UNSPECIFIED + " The abstract drops the confidence term.",
    problem="vc-realizable",
)

LINEAR_CLASSIFICATION_FIXED = Bound(
    id="paper.linear-classification-fixed",
    title="Paper: linear classification with a fixed context",
    kind="upper",
    source="paper",
    metric="|empirical - true| 0-1 error of one fixed in-context predictor (our reading)",
    expr=C / eps**2 * sp.log(1 / delta),
    order="O",
    rate=sp.log(1 / delta) / eps**2,
    assumptions=("a fixed context, hence one fixed predictor", "Hoeffding for that predictor (our reading)"),
    constants={C: 1.0},
    citation=ABSTRACT,
    provenance=UNSPECIFIED,
    problem="mean-estimation",
)

BOUNDS = (TEXT_GENERATION, TEXT_GENERATION_BOUNDED, LINEAR_CLASSIFICATION, LINEAR_CLASSIFICATION_FIXED)
