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

from theory.bound import Bound, MissingConstant, ValidityError
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
        paper_n, paper_log10, paper_note = _n_or_note(self.paper, params)
        refs = []
        for ref in self.references:
            bound = get(ref.bound_id)
            ref_n, ref_log10, note = _n_or_note(bound, params)
            ratio = None
            if paper_n is not None and ref_n:
                ratio = paper_n / ref_n
            elif paper_log10 is not None and ref_log10 is not None:  # in logarithms: an n beyond float64
                ratio = 10 ** (paper_log10 - ref_log10) if abs(paper_log10 - ref_log10) < 300 else None
                if ratio is None:
                    note = f"ratio 10^{paper_log10 - ref_log10:.2f}, beyond floats"
            refs.append(
                {
                    "id": ref.bound_id,
                    "role": ref.role,
                    "n": ref_n,
                    **({"n_log10": ref_log10} if ref_n is None and ref_log10 is not None else {}),
                    "ratio_function": sp.sstr(self.ratios[ref.bound_id]).replace("epsilon", "eps"),
                    "ratio_latex": sp.latex(self.ratios[ref.bound_id], ln_notation=True),
                    "ratio": ratio,
                    **({"note": note} if note else {}),
                }
            )
        return {
            "id": self.paper_id,
            "n": paper_n,
            **({"n_log10": paper_log10} if paper_n is None and paper_log10 is not None else {}),
            **({"note": paper_note} if paper_note else {}),
            "references": refs,
            "flags": list(self.flags),
        }


def _n_or_note(bound: Bound, params: Mapping[str, float]) -> tuple[float | None, float | None, str | None]:
    """(n or None beyond float64, log10 n, None), or (None, None, why there is no n)."""
    used = {k: v for k, v in params.items() if k in bound.parameters}
    try:
        return *bound.magnitude(**used), None
    except ValidityError as err:
        return None, None, str(err)
    except MissingConstant:
        names = ", ".join(bound.required_constants)
        return None, None, f"order only ({names} unspecified): read the ratio as a function"


AUDIT: tuple[AuditEntry, ...] = (
    AuditEntry(
        "paper.text-generation",
        (
            Reference("text-generation.mcdiarmid-union", "tight order"),
            Reference("text-generation.union", "explicit upper"),
            Reference("text-generation.random-contexts", "explicit upper, contexts drawn at random"),
            Reference("text-generation.lecam-lower", "lower"),
        ),
        (
            "Product where a sum suffices: learning m next-token laws over V tokens in TV needs only "
            "Theta(m (V + ln(m/delta)) / eps^2), so m V ln(m/delta) / eps^2 is loose by a factor of order "
            "min(V, ln(m/delta)). Under our reading the claim is true with C = 4 wherever ln(m/delta) >= 1 "
            "(the derivation on its page, via ab >= (a + b)/2 for a, b >= 1).",
            "Below ln(m/delta) = 1 (m/delta < e, e.g. m = 1, delta > 0.37) the product form falls under the tight "
            "form: m V ln(m/delta) < m V, so there the claim with a fixed C promises fewer examples than one "
            "context's V/eps^2 needs.",
            "The output length l is absent: the bound can only control next-token laws per context, since TV "
            "between whole length-l outputs would need of order V^l / eps^2 examples.",
            "ICL matches the fine-tuned model only if the in-context examples are drawn from the fine-tuned "
            "model's own law; with examples from another data law the bound says nothing about the fine-tuned model.",
            "The union over contexts assumes N/m examples per context. With contexts drawn at random (the "
            "paper's setting), seeing every context once (contexts.coverage, m ln(m/delta)) is not enough: each "
            "needs n_c examples, which Chernoff balancing guarantees once N >= m max(2 n_c, 8 ln(2m/delta)) "
            "(text-generation.random-contexts), or max(2 n_c, 8 ln(2m/delta)) / pi_min for a non-uniform "
            "context law pi.",
        ),
    ),
    AuditEntry(
        "paper.text-generation-bounded",
        (
            Reference("finite-class.agnostic", "explicit upper, 0-1 reading"),
            Reference("sequence-tv.lower", "lower, TV-over-outputs reading"),
            Reference("mode.dkw", "explicit upper, most-frequent-output reading"),
        ),
        (
            "The metric is inconsistent: the claim is stated for TV between output laws, but its l ln V term is "
            "the log-size of a finite class of V^l outputs, a 0-1 (ERM) argument. The three readings below disagree.",
            "Read as TV over whole length-l outputs (a law on V^l outcomes), the claim is false: any learner needs "
            "Omega((V^l + ln(1/delta)) / eps^2) examples (sequence-tv.lower), and l ln V ln(1/delta) / "
            "(V^l + ln(1/delta)) -> 0 as l or V grows, for every pair of constants.",
            "Read as 'find the most frequent output' (the empirical mode within eps of the best), l and V should not "
            "appear at all: DKW gives 8 ln(2/delta) / eps^2 examples whatever V and l (mode.dkw).",
            "Read as agnostic 0-1 learning over the V^l outputs (the finite-class union), it holds up to its "
            "constant: a union over the V^l outputs gives 2 (l ln V + ln(2/delta)) / eps^2 "
            "(finite-class.agnostic), and the product l ln V ln(1/delta) / eps^2 is loose by a factor of order "
            "min(l ln V, ln(1/delta)).",
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
    """The whole audit at `params` (eps, delta, m, V, l, d; constants default to 1), as plain JSON.

    Args:
        **params: the parameters the audited bounds are evaluated at: eps and delta in (0, 1); m, V, l, d
            integers >= 1. Each bound takes the ones it uses; the others are ignored.

    Returns:
        One plain-JSON entry per paper claim: id, its n (None with a note where the bound does not apply),
            references (each reference bound's id, role, n, the ratio paper / reference as a function, in LaTeX and
            at `params`), and flags (the issues the claim raises, one sentence each).

    Raises:
        InputError: a parameter outside its domain, or one a paper bound needs that is missing.
    """
    return [entry.evaluate(params) for entry in AUDIT]
