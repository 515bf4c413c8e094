"""The lemmas that carry the catalogue's arguments, each as a derivation step that is checked, not quoted.

Symbolic lemmas are proved by sympy (an identity simplifies to zero, or an expression is nonnegative under the
symbols' assumptions after a reparametrisation that encodes the domain); the two set-function lemmas (TV = L1/2,
point mass vs CDF error) are checked numerically by exhaustive enumeration on random laws, a stated method.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from theory import derivation as dv
from theory.symbols import V, delta, eps, m, n

u = sp.Symbol("u", nonnegative=True)
w = sp.Symbol("w", nonnegative=True)
P = sp.Symbol("P_fail")


def union_over_contexts(single_tail: sp.Expr, single_n: sp.Expr) -> dv.Step:
    """Union bound over m contexts: m T(n) <= delta is met by the single-context size at delta/m.

    Checked: substituting n(delta/m) into m T(n) gives exactly delta.
    """
    at = single_n.subs(delta, delta / m)
    ok = dv.equal(sp.simplify(m * single_tail.subs(n, at)), delta)
    return dv.Step(
        "Union over the m contexts: P(some context fails) <= m T(n), so the single-context size at delta/m "
        "per context makes the union's failure probability delta",
        sp.Eq(n, at, evaluate=False),
        "checked",
        ok,
        "sympy: m T(n(delta/m)) - delta simplifies to 0",
    )


def _tv_half_l1_against(formula, max_outcomes: int = 8, draws: int = 300, seed: int = 0) -> bool:
    """sup over all 2^k events of |p(A) - q(A)| equals formula(p, q) on random pairs of laws, k = 2..max."""
    rng = np.random.default_rng(seed)
    for k in range(2, max_outcomes + 1):
        subsets = np.array(list(itertools.product([0, 1], repeat=k)), dtype=float)  # all 2^k subsets
        p, q = rng.dirichlet(np.ones(k), size=(2, draws))
        sup = np.abs((p - q) @ subsets.T).max(-1)
        if not np.allclose(sup, formula(p, q), rtol=0, atol=1e-12):
            return False
    return True


def tv_is_half_l1() -> dv.Step:
    """TV(p, q) = sup_A |p(A) - q(A)| = ||p - q||_1 / 2 on a finite set."""
    A, L1 = sp.Symbol("TV"), sp.Symbol("L1")
    return dv.numeric(
        "TV = sup over events A of |p(A) - q(A)| equals half the L1 distance, so TV >= eps is L1 >= 2 eps",
        sp.Eq(A, L1 / 2, evaluate=False),
        lambda: _tv_half_l1_against(lambda p, q: 0.5 * np.abs(p - q).sum(-1)),
        "every one of the 2^k subsets enumerated for 300 random pairs of laws on k = 2..8 outcomes; "
        "sup |p(A) - q(A)| equals ||p - q||_1 / 2 to 1e-12",
    )


def _point_mass_vs_cdf(rng: np.random.Generator, max_outcomes: int = 12, draws: int = 2000) -> bool:
    for k in range(2, max_outcomes + 1):
        p, q = rng.dirichlet(np.ones(k), size=(2, draws))
        point = np.abs(p - q).max(-1)
        cdf = np.abs(np.cumsum(p, -1) - np.cumsum(q, -1)).max(-1)
        if np.any(point > 2 * cdf + 1e-12):
            return False
    return True


def point_mass_vs_cdf() -> dv.Step:
    """max_i |p_n(i) - p(i)| <= 2 sup_x |F_n(x) - F(x)|: a point mass is a difference of two CDF values."""
    return dv.numeric(
        "Each point mass is a difference of two CDF values, so max_i |p_n(i) - p(i)| <= 2 sup_x |F_n(x) - F(x)|",
        sp.Le(sp.Symbol("Linf"), 2 * sp.Symbol("KS"), evaluate=False),
        lambda: _point_mass_vs_cdf(np.random.default_rng(1)),
        "2000 random pairs of laws on k = 2..12 outcomes each; the inequality holds in every case",
    )


def expectation_split() -> dv.Step:
    """If E TV <= eps/2 then {TV >= eps} is contained in {TV - E TV >= eps/2}."""
    etv = eps / 2 - u * eps  # E TV = eps/2 - u eps with u >= 0 encodes E TV <= eps/2
    return dv.inequality(
        "With E TV <= eps/2, TV >= eps forces a deviation TV - E TV >= eps - E TV >= eps/2",
        eps / 2,
        eps - etv,
        how="E TV = eps/2 - u eps, u >= 0",
    )


def miss_probability() -> dv.Step:
    """(1 - 1/m)^n <= exp(-n/m): ln(1 - x) <= -x on [0, 1), via g(x) = -x - ln(1 - x), g(0) = 0, g' >= 0."""
    x = sp.Symbol("x")
    g = -x - sp.log(1 - x)
    slope = sp.simplify(sp.diff(g, x).subs(x, u / (1 + u)))  # x = u/(1 + u) sweeps [0, 1) as u sweeps [0, oo)
    ok = g.subs(x, 0) == 0 and dv.nonnegative(slope)
    return dv.Step(
        "A context is missed by n uniform draws with probability (1 - 1/m)^n <= exp(-n/m)",
        sp.Le((1 - 1 / m) ** n, sp.exp(-n / m), evaluate=False),
        "checked",
        ok,
        "sympy: g(x) = -x - ln(1 - x) has g(0) = 0 and g'(x) = x/(1 - x) >= 0 on [0, 1) (x = u/(1 + u), u >= 0), "
        "so ln(1 - 1/m) <= -1/m",
    )


def log_subsets() -> dv.Step:
    """ln(2^V - 2) <= V ln 2: the union over subsets costs at most V ln 2 nats."""
    ok = dv.nonnegative(2**V - (2**V - 2)) and dv.equal(sp.log(2**V), V * sp.log(2))
    return dv.Step(
        "ln(2^V - 2) <= V ln 2, so the subset union costs O(V) nats: n = O((V + ln(1/delta)) / eps^2)",
        sp.Le(sp.log(2**V - 2), V * sp.log(2), evaluate=False),
        "checked",
        ok,
        "sympy: 2^V - (2^V - 2) = 2 >= 0 and ln is increasing; ln(2^V) = V ln 2",
    )


def product_vs_sum() -> dv.Step:
    """a b >= (a + b)/2 for a, b >= 1: a product of two factors >= 1 dominates half their sum."""
    a, b = 1 + u, 1 + w
    return dv.inequality(
        "For a, b >= 1: a b >= (a + b)/2, so a product form is at least half the sum form (never below it "
        "by more than a factor 2); the converse fails, since a b / (a + b) is unbounded",
        (a + b) / 2,
        a * b,
        how="a = 1 + u, b = 1 + w with u, w >= 0",
    )


def max_le_sum() -> dv.Step:
    """max(a, b) <= a + b for a, b >= 0: the sum is at least each argument, hence at least their max."""
    ok = all(dv.nonnegative(u + w - part) for part in (u, w))
    return dv.Step(
        "max(a, b) <= a + b for a, b >= 0",
        sp.Le(sp.Max(u, w), u + w, evaluate=False),
        "checked",
        ok,
        "sympy: (a + b) - a and (a + b) - b are nonnegative for a = u, b = w >= 0",
    )


def mode_gap() -> dv.Step:
    """If every point mass is estimated within eps/2, the empirical mode's true mass is within eps of the max."""
    g = sp.Symbol("g", nonnegative=True)  # p_n(y_hat) - p_n(y*) >= 0: y_hat is the empirical mode
    e1 = eps / 2 - u  # p_n(y_hat) - p(y_hat), in [-eps/2, eps/2]
    e2 = -eps / 2 + w  # p_n(y*) - p(y*)
    gap = -g - e2 + e1  # p(y*) - p(y_hat)
    return dv.inequality(
        "If |p_n(y) - p(y)| <= eps/2 for every y, the empirical mode y_hat has p(y*) - p(y_hat) <= eps",
        gap,
        eps,
        how="errors eps/2 - u and -eps/2 + w with u, w >= 0; empirical gap g >= 0",
    )


def chernoff_half() -> dv.Step:
    """Chernoff's lower tail at theta = 1/2: P(X <= mu/2) <= exp(-mu/8)."""
    theta, mu = sp.Symbol("theta", positive=True), sp.Symbol("mu", positive=True)
    general = sp.exp(-mu * theta**2 / 2)
    return dv.substitution(
        "At theta = 1/2 the lower tail is P(X <= mu/2) <= exp(-mu/8)",
        general,
        theta,
        sp.Rational(1, 2),
        sp.exp(-mu / 8),
    )


# ---- Le Cam's two-point method ---------------------------------------------------------------------------------
K = sp.Symbol("K", positive=True)  # KL divergence between the two laws, per example
KL_BERNOULLI = 4 * eps * sp.atanh(2 * eps)  # KL(Bernoulli(1/2 + eps) || Bernoulli(1/2 - eps))
LECAM = "Tsybakov 2009, Thm 2.2 (iii) with Lemma 2.6 (Bretagnolle-Huber)"


def kl_bernoulli() -> dv.Step:
    """KL(Ber(1/2 + eps) || Ber(1/2 - eps)) = 4 eps atanh(2 eps), for 0 < eps < 1/2."""
    e = 1 / (2 * (1 + u))  # sweeps (0, 1/2) as u sweeps (0, oo): keeps every log's argument positive
    half = sp.Rational(1, 2)
    kl = (half + e) * sp.log((half + e) / (half - e)) + (half - e) * sp.log((half - e) / (half + e))
    ok = dv.equal(kl, KL_BERNOULLI.subs(eps, e).rewrite(sp.log))
    return dv.Step(
        "The two laws Bernoulli(1/2 +- eps) have KL divergence K = 4 eps atanh(2 eps) per example",
        sp.Eq(K, KL_BERNOULLI, evaluate=False),
        "checked",
        ok,
        "sympy: the KL sum minus 4 eps atanh(2 eps) (rewritten in logs) simplifies to 0 for eps = 1/(2(1 + u))",
    )


def separation() -> dv.Step:
    """Means 1/2 +- eps are 2 eps apart: an estimate within eps of one is at least eps from the other."""
    near = eps - u * eps  # |estimate - mu_0| = eps - u eps < eps (u > 0 strictly; u >= 0 suffices for >=)
    return dv.inequality(
        "The two means are 2 eps apart, so an estimate with error below eps under one law has error at least "
        "eps under the other: any estimator with failure probability <= delta under both yields a test between "
        "them that errs with probability <= delta under each",
        eps,
        2 * eps - near,
        how="error under the first law eps - u eps, u >= 0",
    )


def lecam_steps(what: str = "n") -> list[dv.Step]:
    """Le Cam's two-point lower bound: n >= ln(1/(4 delta)) / K examples are necessary."""
    tail = sp.exp(-n * K) / 4
    return [
        dv.quoted(
            "Two laws with KL divergence K per example cannot be told apart from n examples with maximal error "
            "below (1/4) exp(-n K)",
            sp.Ge(P, tail, evaluate=False),
            LECAM,
        ),
        kl_bernoulli(),
        separation(),
        *dv.solve_lower_tail(tail, sp.log(1 / (4 * delta)) / K, what),
    ]
