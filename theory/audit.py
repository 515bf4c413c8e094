"""The audit: each paper bound against the bounds it should be read against, with the issues it raises.

For every paper claim we name reference bounds (the order-optimal form, an explicit upper bound, and a lower
bound where one applies), give the ratio paper / reference as a sympy expression and at given parameters, and
list each flagged issue in one sentence. A ratio below 1 against a lower bound means the paper's claim, with its
constant at the value given, promises fewer examples than any learner can use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from theory.bound import Bound, ValidityError
from theory.catalogue import get


@dataclass(frozen=True)
class Reference:
    """A bound a paper claim is read against, and its role: 'tight order', 'explicit upper' or 'lower'."""

    bound_id: str
    role: str


@dataclass(frozen=True)
class AuditEntry:
    paper_id: str
    references: tuple[Reference, ...]
    flags: tuple[str, ...]

    @property
    def paper(self) -> Bound:
        return get(self.paper_id)

    @cached_property
    def ratios(self) -> dict[str, sp.Expr]:
        """paper.expr / reference.expr for each reference (cancelled, common factors pulled out)."""
        return {r.bound_id: sp.factor_terms(sp.cancel(self.paper.expr / get(r.bound_id).expr)) for r in self.references}

    def evaluate(self, params: Mapping[str, float]) -> dict:
        """Plain-JSON audit at `params` (values for parameters a bound does not use are ignored)."""
        paper_n, paper_note = _n_or_note(self.paper, params)
        refs = []
        for ref in self.references:
            bound = get(ref.bound_id)
            ref_n, note = _n_or_note(bound, params)
            ratio = None if paper_n is None or ref_n is None else paper_n / ref_n
            refs.append(
                {
                    "id": ref.bound_id,
                    "role": ref.role,
                    "n": ref_n,
                    "ratio_function": sp.sstr(self.ratios[ref.bound_id]).replace("epsilon", "eps"),
                    "ratio_latex": sp.latex(self.ratios[ref.bound_id], ln_notation=True),
                    "ratio": ratio,
                    **({"note": note} if note else {}),
                }
            )
        return {
            "id": self.paper_id,
            "n": paper_n,
            **({"note": paper_note} if paper_note else {}),
            "references": refs,
            "flags": list(self.flags),
        }


def _n_or_note(bound: Bound, params: Mapping[str, float]) -> tuple[float | None, str | None]:
    used = {k: v for k, v in params.items() if k in bound.parameters}
    try:
        return float(bound.n(**used)), None
    except ValidityError as err:
        return None, str(err)


AUDIT: tuple[AuditEntry, ...] = (
    AuditEntry(
        "paper.text-generation",
        (
            Reference("text-generation.mcdiarmid-union", "tight order"),
            Reference("text-generation.union", "explicit upper"),
        ),
        (
            "Product where a sum suffices: learning m next-token laws over V tokens in TV needs only "
            "Theta(m (V + ln(m/delta)) / eps^2), so m V ln(m/delta) / eps^2 is loose by a factor of order "
            "min(V, ln(m/delta)).",
            "The output length l is absent: the bound can only control next-token laws per context, since TV "
            "between whole length-l outputs would need of order V^l / eps^2 examples.",
            "ICL matches the fine-tuned model only if the in-context examples are drawn from the fine-tuned "
            "model's own law; with examples from another data law the bound says nothing about the fine-tuned model.",
            "The union over contexts assumes about N/m examples per context; with contexts drawn at random, "
            "covering all m of them already costs m ln(m/delta) draws (contexts.coverage).",
        ),
    ),
    AuditEntry(
        "paper.text-generation-bounded",
        (Reference("finite-class.agnostic", "explicit upper"),),
        (
            "Product where a sum suffices: a union over the V^l outputs gives (l ln V + ln(1/delta)) / eps^2, "
            "so l ln V ln(1/delta) / eps^2 is loose by a factor of order min(l ln V, ln(1/delta)).",
            "m disappears only because retrieval puts exactly the query's examples in the window; with random "
            "selection the examples per context shrink like k/m and the dependence on m returns.",
        ),
    ),
    AuditEntry(
        "paper.linear-classification",
        (
            Reference("vc.hanneke", "tight order"),
            Reference("vc.blumer", "explicit upper"),
            Reference("vc.ehkv-lower", "lower"),
        ),
        (
            "The confidence term is dropped: the optimal realizable rate is Theta((d + ln(1/delta)) / eps), and "
            "the lower bound's ((1 - eps)/eps) ln(1/delta) term shows O(d/eps) cannot hold for every delta.",
            "With C = 1, C d / eps falls below the EHKV lower bound whenever ln(1/delta) > d / (1 - eps), so the "
            "hidden constant must grow as delta shrinks.",
            "VC dimension is d for homogeneous halfspaces and d + 1 with a bias; the abstract does not say which.",
        ),
    ),
    AuditEntry(
        "paper.linear-classification-fixed",
        (Reference("hoeffding", "tight order"), Reference("vc.ehkv-lower", "lower")),
        (
            "A d-free bound cannot be a learning bound: learning halfspaces in R^d needs (d - 1) / (32 eps) "
            "examples (EHKV), so (1/eps^2) ln(1/delta) can only certify the error estimate of one fixed predictor "
            "(Hoeffding), not that the predictor is good.",
        ),
    ),
)


def entries() -> tuple[AuditEntry, ...]:
    return AUDIT


def audit(**params: float) -> list[dict]:
    """The whole audit at `params` (eps, delta, m, V, l, d; constants default to 1), as plain JSON."""
    return [entry.evaluate(params) for entry in AUDIT]
