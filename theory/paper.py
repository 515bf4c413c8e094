"""The paper's four claims (Sharma 2025, arXiv:2506.08060, abstract), with C the unspecified big-O constant.

The body of the paper is not available to us: each bound is the abstract's O(.) expression with an explicit
constant C (default 1), and our reading of what it bounds (see docs and theory.audit). None is derived here.
"""

from __future__ import annotations

import sympy as sp

from theory.bound import Bound, Condition
from theory.citations import cite
from theory.symbols import C, V, d, delta, eps, l, m

ABSTRACT = cite("sharma2025", "abstract")
UNSPECIFIED = "Quoted from the abstract as an O(.) statement; the constant C is not given and defaults to 1."

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
    provenance=UNSPECIFIED,
    problem="text-generation",
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
