"""Compare a bound with your own measurements: per-trial errors at one sample size n.

An upper bound says P(error >= eps) <= delta once n >= bound.n(eps, delta, ...). Given the errors of independent
trials at n, `compare` counts failures (error >= eps), tests "failure rate <= delta" with the exact one-sided
binomial test (Clopper & Pearson 1934 interval for the rate), and says how conservative the bound is: the
accuracy it guarantees at n (`bound.eps_at(n)`) over the accuracy measured there (the (1 - delta)-quantile of
the errors).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from theory.bound import Bound
from theory.errors import InputError
from theory.reference import ALPHA, count_failures, rate_test


@dataclass(frozen=True)
class Comparison:
    """The outcome of `compare`; `verdict` is 'consistent', 'inconsistent' or 'not applicable' (n < n_bound).

    Attributes:
        bound_id: the bound tested.
        n: the sample size the errors were measured at.
        n_bound: ceil(bound.n(eps, delta, ...)), the size from which the bound promises P(error >= eps) <= delta.
        eps: the accuracy tested.
        delta: the failure probability the bound allows.
        trials: independent errors measured.
        failures: those >= eps.
        rate: failures / trials.
        ci95: the exact (Clopper-Pearson) 95% interval of the failure rate.
        p_value: of the exact one-sided binomial test of rate <= delta.
        alpha: the test's level.
        verdict: 'consistent', 'inconsistent' (p_value < alpha) or 'not applicable' (n < n_bound).
        eps_guaranteed: the eps the bound guarantees at n (None where n is below its range).
        eps_measured: the (1 - delta)-quantile of the errors.
        conservativeness: eps_guaranteed / eps_measured: > 1 means the bound is conservative at n.
    """

    bound_id: str
    n: int
    n_bound: int
    eps: float
    delta: float
    trials: int
    failures: int
    rate: float
    ci95: tuple[float, float]
    p_value: float
    alpha: float
    verdict: str
    eps_guaranteed: float | None  # the eps the bound guarantees at n (None where n is below its range)
    eps_measured: float  # the (1 - delta)-quantile of the errors
    conservativeness: float | None  # eps_guaranteed / eps_measured: > 1 means the bound is conservative at n

    def to_dict(self) -> dict:
        return asdict(self)


def compare(
    bound: Bound, n: int, errors: np.ndarray, *, eps: float, delta: float, alpha: float = ALPHA, **params: float
) -> Comparison:
    """Are per-trial `errors` measured at sample size `n` consistent with `bound` at (eps, delta, **params)?

    The claim tested: P(error >= eps) <= delta, which the bound makes whenever n >= ceil(bound.n(eps, delta, ...)).
    Inconsistent when the exact one-sided binomial test rejects "rate <= delta" at level `alpha`; 'not applicable'
    when n is below the bound's n (it promises nothing there; the figures are still reported).

    Args:
        bound: an upper bound (theory.get(id), or a user's Bound).
        n: the sample size the errors were measured at, an integer >= 1.
        errors: one error per independent trial (array of any shape, flattened), finite and >= 0, in the
            bound's metric; a trial fails when its error is >= eps.
        eps: the accuracy tested, in (0, 1).
        delta: the failure probability the bound allows, in (0, 1).
        alpha: the level of the binomial test, in (0, 1) (default 0.01).
        **params: the bound's other parameters (m, V, d, l, a constant such as C, ...).

    Returns:
        The comparison, with the verdict and the figures behind it.

    Raises:
        InputError: a lower bound, n < 1, alpha outside (0, 1), errors that are empty, negative or not finite,
            parameters outside the bound's domain or missing, or (ValidityError) outside its validity
            conditions.
    """
    if bound.kind != "upper":
        raise InputError(f"bound must be an upper bound (compare tests a sufficient n); {bound.id} is a lower bound")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be an integer >= 1; got {n!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be a real number in (0, 1); got {alpha!r}")
    try:
        err = np.asarray(errors, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError("errors must be a 1-d array of real numbers >= 0") from None
    if err.size == 0 or not np.all(np.isfinite(err)) or np.any(err < 0):
        raise InputError(f"errors must be a non-empty array of finite real numbers >= 0; got {err.size} values")
    kwargs = {"eps": eps, "delta": delta, **params}
    n_bound = math.ceil(float(bound.n(**kwargs)))
    failures = count_failures(err, eps)
    trials = int(err.size)
    p_value, ci = rate_test(failures, trials, delta)
    if n < n_bound:
        verdict = "not applicable"
    else:
        verdict = "inconsistent" if p_value < alpha else "consistent"
    eps_measured = float(np.quantile(err, 1 - delta, method="higher"))
    try:
        rest = {k: v for k, v in kwargs.items() if k != "eps"}
        eps_guaranteed = float(bound.eps_at(n, **rest)) if "eps" in bound.parameters else None
    except ValueError:
        eps_guaranteed = None
    ratio = None if eps_guaranteed is None or eps_measured <= 0 else eps_guaranteed / eps_measured
    return Comparison(
        bound.id, int(n), n_bound, float(eps), float(delta), trials, failures, failures / trials,
        ci, p_value, alpha, verdict, eps_guaranteed, eps_measured, ratio,
    )
