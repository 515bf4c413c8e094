"""PAC bounds: finite classes (here the V^l possible outputs) and VC classes (halfspaces in R^d, VC = d)."""

from __future__ import annotations

import sympy as sp

from theory import derivation as dv
from theory.bound import Bound, Condition
from theory.citations import cite
from theory.symbols import V, d, delta, eps, l, n

t = sp.Symbol("t", positive=True)
P = sp.Symbol("P_fail")
LOG_H = l * sp.log(V)  # ln |H| for the class of all V^l outputs of length l
SSBD = "Shalev-Shwartz & Ben-David 2014"

REALIZABLE_TAIL = V**l * sp.exp(-eps * n)
UC_TAIL = 2 * V**l * sp.exp(-2 * n * t**2)
AGNOSTIC_TAIL = 2 * V**l * sp.exp(-n * eps**2 / 2)


def _realizable() -> dv.Derivation:
    return dv.Derivation(
        "finite-class.realizable",
        (
            dv.premise(
                "ERM over a finite realizable class: P(some h with error > eps is consistent with n examples) "
                "<= |H| exp(-eps n), with |H| = V^l",
                sp.Le(P, REALIZABLE_TAIL),
                REALIZABLE_TAIL,
                f"{SSBD}, proof of Cor. 2.3",
            ),
            *dv.solve_tail(REALIZABLE_TAIL, FINITE_REALIZABLE.expr),
        ),
    )


FINITE_REALIZABLE = Bound(
    id="finite-class.realizable",
    title="Finite class |H| = V^l, realizable: ERM",
    kind="upper",
    source="standard",
    metric="0-1 error of the ERM output",
    expr=(LOG_H + sp.log(1 / delta)) / eps,
    order="O",
    rate=(LOG_H + sp.log(1 / delta)) / eps,
    assumptions=("hypothesis class: all V^l outputs of length l", "realizable: some h has error 0", "ERM learner"),
    citation=cite("ssbd2014", "Corollary 2.3"),
    provenance="SSBD Cor. 2.3: m_H(eps, delta) <= ceil(log(|H|/delta)/eps) with natural log; ln|H| = l ln V. "
    "Matches the table.",
    problem="finite-class-realizable",
    derive=_realizable,
)


def _agnostic() -> dv.Derivation:
    return dv.Derivation(
        "finite-class.agnostic",
        (
            dv.premise(
                "Uniform convergence over a finite class (Hoeffding + union over |H| = V^l): "
                "P(some h has |L_S(h) - L_D(h)| > t) <= 2 |H| exp(-2 n t^2)",
                sp.Le(P, UC_TAIL),
                UC_TAIL,
                f"{SSBD}, Cor. 4.6 (proof)",
            ),
            dv.substitution(
                "An eps/2-representative sample makes ERM eps-accurate (SSBD Lemma 4.2): t = eps/2",
                UC_TAIL,
                t,
                eps / 2,
                AGNOSTIC_TAIL,
            ),
            *dv.solve_tail(AGNOSTIC_TAIL, FINITE_AGNOSTIC.expr),
        ),
    )


FINITE_AGNOSTIC = Bound(
    id="finite-class.agnostic",
    title="Finite class |H| = V^l, agnostic: ERM",
    kind="upper",
    source="standard",
    metric="excess 0-1 error of the ERM output over the best in H",
    expr=2 * (LOG_H + sp.log(2 / delta)) / eps**2,
    order="O",
    rate=(LOG_H + sp.log(1 / delta)) / eps**2,
    assumptions=(
        "any hypothesis class of |H| = V^l hypotheses (the paper's reading: all V^l outputs of length l)",
        "agnostic: any data law",
        "ERM learner",
    ),
    citation=cite("ssbd2014", "Corollary 4.6"),
    provenance="SSBD Cor. 4.6: m_H(eps, delta) <= m_UC(eps/2, delta) <= ceil(2 log(2|H|/delta)/eps^2). Matches.",
    problem="finite-class-agnostic",
    derive=_agnostic,
)

BLUMER = Bound(
    id="vc.blumer",
    title="VC class, realizable: any consistent learner (Blumer et al.)",
    kind="upper",
    source="standard",
    metric="0-1 error of a consistent hypothesis",
    expr=sp.Max(4 / eps * sp.log(2 / delta, 2), 8 * d / eps * sp.log(13 / eps, 2)),
    order="O",
    rate=(d * sp.log(1 / eps) + sp.log(1 / delta)) / eps,
    assumptions=("VC dimension d (homogeneous halfspaces in R^d)", "realizable", "any consistent learner"),
    citation=cite("blumer1989", "Theorem 2.1 (ii)(b)"),
    provenance="Checked against a summary of Blumer et al. (1989): sample complexity "
    "max((4/eps) log(2/delta), (8d/eps) log(13/eps)) with logs base 2. Matches the table.",
    problem="vc-realizable",
)

EHKV = Bound(
    id="vc.ehkv-lower",
    title="VC class, realizable: general lower bound (Ehrenfeucht et al.)",
    kind="lower",
    source="standard",
    metric="0-1 error of any learner, worst case over targets and input laws",
    expr=sp.Max((1 - eps) / eps * sp.log(1 / delta), (d - 1) / (32 * eps)),
    order="Omega",
    rate=(d + sp.log(1 / delta)) / eps,
    assumptions=("VC dimension d (homogeneous halfspaces in R^d)", "realizable", "any learner"),
    conditions=(
        Condition(eps <= sp.Rational(1, 8), "the theorem is proved for eps <= 1/8"),
        Condition(delta <= sp.Rational(1, 100), "the theorem is proved for delta <= 1/100"),
        Condition(d >= 2, "the theorem needs VC dimension at least 2"),
    ),
    citation=cite("ehrenfeucht1989", "main theorem"),
    provenance="The abstract of Ehrenfeucht et al. (COLT 1988 / Inf. Comput. 1989) gives "
    "Omega((1/eps) ln(1/delta) + d/eps); the explicit constants (1 - eps)/eps, 1/32 and the ranges eps <= 1/8, "
    "delta <= 1/100, d >= 2 are as commonly quoted from the paper, not re-read here; the mutant suite and the "
    "lower-le-upper check compare them with vc.blumer.",
    problem="vc-realizable",
)

c_h = sp.Symbol("c_H", positive=True)
HANNEKE = Bound(
    id="vc.hanneke",
    title="VC class, realizable: optimal rate (Hanneke), constant unspecified",
    kind="upper",
    source="standard",
    metric="0-1 error of Hanneke's majority-vote learner",
    expr=c_h * (d + sp.log(1 / delta)) / eps,
    order="Theta",
    rate=(d + sp.log(1 / delta)) / eps,
    assumptions=("VC dimension d", "realizable", "Hanneke's learner (not every ERM attains it)"),
    constants={c_h: 1.0},
    citation=cite("hanneke2016", "Theorem 2"),
    provenance="Hanneke (2016): a learner with sample complexity O((d + log(1/delta))/eps), matching the lower bound "
    "up to constants. The numerical constant is kept symbolic (c_H); default 1 gives the order only.",
    problem="vc-realizable",
)

c2 = sp.Symbol("c_2", positive=True)
SSBD_REALIZABLE = Bound(
    id="vc.ssbd-realizable",
    title="VC class, realizable: quantitative fundamental theorem, upper side",
    kind="upper",
    source="standard",
    metric="0-1 error of ERM",
    expr=c2 * (d * sp.log(1 / eps) + sp.log(1 / delta)) / eps,
    order="O",
    rate=(d * sp.log(1 / eps) + sp.log(1 / delta)) / eps,
    assumptions=("VC dimension d", "realizable", "ERM learner"),
    constants={c2: 1.0},
    citation=cite("ssbd2014", "Theorem 6.8, item 3"),
    provenance="SSBD Thm 6.8 (3): C1 (d + log(1/delta))/eps <= m_H <= C2 (d log(1/eps) + log(1/delta))/eps, "
    "C1, C2 absolute constants not given; kept symbolic.",
    problem="vc-realizable",
)
SSBD_AGNOSTIC = Bound(
    id="vc.ssbd-agnostic",
    title="VC class, agnostic: quantitative fundamental theorem, upper side",
    kind="upper",
    source="standard",
    metric="excess 0-1 error of ERM",
    expr=c2 * (d + sp.log(1 / delta)) / eps**2,
    order="Theta",
    rate=(d + sp.log(1 / delta)) / eps**2,
    assumptions=("VC dimension d", "agnostic", "ERM learner"),
    constants={c2: 1.0},
    citation=cite("ssbd2014", "Theorem 6.8, item 2"),
    provenance="SSBD Thm 6.8 (2): C1 (d + log(1/delta))/eps^2 <= m_H <= C2 (d + log(1/delta))/eps^2; constants "
    "kept symbolic.",
    problem="vc-agnostic",
)
SSBD_AGNOSTIC_LOWER = Bound(
    id="vc.ssbd-agnostic-lower",
    title="VC class, agnostic: lower bound with the constants of its proof",
    kind="lower",
    source="standard",
    metric="excess 0-1 error of any learner",
    expr=sp.Max(sp.log(1 / (4 * delta)) / (2 * eps**2), d / (512 * eps**2)),
    order="Omega",
    rate=(d + sp.log(1 / delta)) / eps**2,
    assumptions=("VC dimension d", "agnostic", "any learner"),
    conditions=(
        Condition(eps < 1 / (8 * sp.sqrt(2)), "the d-term's construction (rho = 8 eps < 1/sqrt 2) needs it"),
        Condition(delta < sp.Rational(1, 8), "the d-term holds at delta = 1/8, hence for every smaller delta"),
    ),
    citation=cite("ssbd2014", "Section 28.2 (proof of Theorem 6.8, lower side)"),
    provenance="SSBD Sec. 28.2.1: m(eps, delta) >= 0.5 ln(1/(4 delta))/eps^2 for eps < 1/sqrt 2; Sec. 28.2.2: with "
    "rho = 8 eps, any learner fails with probability >= 1/8 unless m >= d/(8 rho^2) = d/(512 eps^2). Read from the "
    "book's proof (the printed copy we consulted garbles the d-term's constant; d/(512 eps^2) is the smaller of "
    "the two readings, hence valid under either). Replaces the symbolic C1, whose default 1 made the lower bound "
    "equal to the upper side's default.",
    problem="vc-agnostic",
)

BOUNDS = (
    FINITE_REALIZABLE,
    FINITE_AGNOSTIC,
    BLUMER,
    EHKV,
    HANNEKE,
    SSBD_REALIZABLE,
    SSBD_AGNOSTIC,
    SSBD_AGNOSTIC_LOWER,
)
