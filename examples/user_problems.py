"""Two problems declared the way a user declares their own, and bounds on them that `check_bound` decides.

- ``median-rank``: the sample median of n draws from a continuous law, and how far its rank is from the true
  median's, |F(median) - 1/2|. Two one-sided Hoeffding bounds (on the number of draws below the 1/2 - eps
  quantile, and above the 1/2 + eps quantile) and a union bound give n >= ln(2/delta) / (2 eps^2)
  (Hoeffding 1963, Theorem 1).
- ``bounded-mean``: the empirical mean of n variables in [0, 1], |mean - mu|; Hoeffding gives the same n. Its
  lower bound side is checked with the empirical mean as the estimator that should beat a too-large lower bound.

Run it: ``python examples/user_problems.py``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy import stats

import theory
from theory.symbols import delta, eps
from theory.testing import BoundCheckError, check_bound

HOEFFDING = theory.Citation("hoeffding1963", "W. Hoeffding, JASA 58:13-30, 1963", "Theorem 1")

# ---- the median ---------------------------------------------------------------------------------------------
MEDIAN_LAWS = {"uniform": stats.uniform(), "exponential": stats.expon(), "arcsine Beta(1/2, 1/2)": stats.beta(0.5, 0.5)}


def median_rank_error(rng: np.random.Generator, n: int, law, trials: int, **params) -> np.ndarray:
    """|F(sample median) - 1/2| for `trials` independent samples of n draws from `law` (a frozen scipy law)."""
    x = law.rvs(size=(trials, n), random_state=rng)
    return np.abs(law.cdf(np.median(x, axis=1)) - 0.5)


theory.register_problem(
    "median-rank",
    median_rank_error,
    lambda **params: MEDIAN_LAWS,
    description="the sample median's rank error |F(median) - 1/2| under continuous laws",
    replace=True,  # re-running the file (a notebook cell) re-declares it
)

MEDIAN = theory.Bound(
    id="my.median-hoeffding",
    title="Sample median: rank within eps of 1/2",
    kind="upper",
    source="standard",
    metric="|F(sample median) - 1/2|",
    expr=sp.log(2 / delta) / (2 * eps**2),
    order="Theta",
    rate=sp.log(1 / delta) / eps**2,
    assumptions=("n i.i.d. draws from a continuous law",),
    citation=HOEFFDING,
    problem="median-rank",
)

# ---- the mean of [0, 1] variables ---------------------------------------------------------------------------
BERNOULLI = {f"Bernoulli({p})": p for p in (0.5, 0.3, 0.1)}


def mean_error(rng: np.random.Generator, n: int, p: float, trials: int, **params) -> np.ndarray:
    """|empirical mean - p| for `trials` independent samples of n Bernoulli(p) draws."""
    return np.abs(rng.binomial(n, p, size=trials) / n - p)


theory.register_problem(
    "bounded-mean",
    mean_error,
    lambda **params: BERNOULLI,
    beat=mean_error,  # the empirical mean should beat any lower bound that asks for too many samples
    description="the empirical mean of [0, 1] variables under Bernoulli laws",
    replace=True,
)

MEAN = theory.Bound(
    id="my.mean-hoeffding",
    title="Empirical mean of [0, 1] variables",
    kind="upper",
    source="standard",
    metric="|mean - mu|",
    expr=sp.log(2 / delta) / (2 * eps**2),
    order="Theta",
    rate=sp.log(1 / delta) / eps**2,
    assumptions=("n i.i.d. variables in [0, 1]",),
    citation=HOEFFDING,
    problem="bounded-mean",
)


def scaled(bound: theory.Bound, factor: float, suffix: str) -> theory.Bound:
    """`bound` with its expression multiplied by `factor` (a constant made too small or too large)."""
    import dataclasses

    return dataclasses.replace(bound, id=f"{bound.id}-{suffix}", expr=bound.expr * sp.nsimplify(factor))


if __name__ == "__main__":
    for bound in (MEDIAN, scaled(MEDIAN, 1 / 4, "quarter"), MEAN, scaled(MEAN, 1 / 4, "quarter")):
        try:
            print(check_bound(bound, only=["valid"]))
        except BoundCheckError as err:
            print(err)
