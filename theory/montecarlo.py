"""Monte-Carlo coverage: simulate the estimator a concentration bound speaks about, at the bound's n.

For each experiment we draw `trials` independent data sets of the size the bound prescribes, compute the
estimator's error in the bound's metric, and count failures (error >= eps). Sampling is vectorized over trials
(numpy's binomial and multinomial samplers with a `size`), never a Python loop per trial.

Decision rule (fixed in advance): the check passes unless an exact one-sided binomial test rejects
"failure rate <= delta" at level ALPHA = 0.01, i.e. unless P(Binomial(trials, delta) >= failures) < 0.01.
We also report the 95% Clopper-Pearson interval of the failure rate, and how conservative the bound is: the
smallest n on a geometric grid (ratio 2^(1/8)) from which the empirical failure rate stays <= delta, divided by
the bound's n (below 1: the bound asks for more samples than needed), and the test's power to detect a
constant 2x too small: the probability that it rejects at the failure rate simulated at n/2 samples.

Experiments on the paper's claims simulate *our reading's* estimator (empirical frequencies, or an empirical
mean), not in-context learning: they test the arithmetic of the reading, and are labelled so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from theory.bound import Bound
from theory.catalogue import get
from theory.reference import ALPHA, count_failures, power, rate_test

GRID = 2 ** (1 / 8)

Sampler = Callable[[int, int, np.random.Generator], np.ndarray]  # (n, trials, rng) -> error per trial


def uniform(V: int) -> np.ndarray:
    return np.full(V, 1.0 / V)


def zipf(V: int) -> np.ndarray:
    """A skewed law: p_i proportional to 1/i."""
    w = 1.0 / np.arange(1, V + 1)
    return w / w.sum()


def mean_error(p: float) -> Sampler:
    """|empirical mean - p| for n Bernoulli(p) draws."""
    return lambda n, trials, rng: np.abs(rng.binomial(n, p, size=trials) / n - p)


def tv_error(probs: np.ndarray) -> Sampler:
    """TV(empirical frequencies, p) for n draws from p."""
    return lambda n, trials, rng: 0.5 * np.abs(rng.multinomial(n, probs, size=trials) / n - probs).sum(-1)


def linf_error(probs: np.ndarray) -> Sampler:
    """max_i |empirical frequency - p_i| for n draws from p."""
    return lambda n, trials, rng: np.abs(rng.multinomial(n, probs, size=trials) / n - probs).max(-1)


def contexts_tv_error(laws: list[np.ndarray]) -> Sampler:
    """max over m contexts of TV, with n split evenly: ceil(n/m) draws per context (the bound's allocation)."""

    def sample(n: int, trials: int, rng: np.random.Generator) -> np.ndarray:
        per_context = math.ceil(n / len(laws))
        return np.max([tv_error(p)(per_context, trials, rng) for p in laws], axis=0)  # loop over contexts only

    return sample


def random_contexts_tv_error(laws: list[np.ndarray]) -> Sampler:
    """max over m contexts of TV, each of the n examples in a uniformly drawn context (the paper's setting).

    A context that gets no example has no estimate: it counts as a failure (error 1).
    """

    def sample(n: int, trials: int, rng: np.random.Generator) -> np.ndarray:
        counts = rng.multinomial(n, uniform(len(laws)), size=trials)  # [trials, m]
        worst = np.zeros(trials)
        for i, p in enumerate(laws):  # loop over contexts only
            c = counts[:, i]
            tokens = rng.multinomial(c, p)  # [trials, V], one draw per trial with its own count
            tv = 0.5 * np.abs(tokens / np.maximum(c, 1)[:, None] - p).sum(-1)
            worst = np.maximum(worst, np.where(c > 0, tv, 1.0))
        return worst

    return sample


def unseen_contexts(m: int) -> Sampler:
    """1 if some of m uniformly drawn contexts is unseen after n draws, else 0 (failure iff error >= eps = 1)."""
    return lambda n, trials, rng: (rng.multinomial(n, uniform(m), size=trials) == 0).any(-1).astype(float)


@dataclass(frozen=True)
class Experiment:
    """One simulation of an estimator that a bound speaks about, at fixed parameters.

    Attributes:
        bound_id: the catalogue bound it tests.
        name: a short description of the estimator and the law sampled.
        params: the bound's parameters by keyword name (with delta, and eps when the bound has one).
        sample: (n, trials, rng) -> each trial's error, shape [trials], at sample size n (rng: a numpy
            Generator).
        eps: the failure threshold when the bound has no eps (coverage: 1 = some context unseen).
    """

    bound_id: str
    name: str
    params: Mapping[str, float]
    sample: Sampler = field(repr=False)
    eps: float | None = None  # failure threshold when the bound has no eps (coverage: 1 = some context unseen)

    @property
    def threshold(self) -> float:
        return self.params.get("eps", self.eps)


V_TV, M_CTX = 10, 5
_TV = dict(eps=0.1, delta=0.05, V=V_TV)
_CTX = dict(eps=0.1, delta=0.05, m=M_CTX, V=V_TV)
_LAWS = [uniform(V_TV), zipf(V_TV), zipf(V_TV)[::-1].copy(), uniform(V_TV), zipf(V_TV)]
_COIN = [np.array([0.5, 0.5])] * M_CTX  # the worst binary law in every context: near-tight for the unions
READING = "our reading's estimator (empirical frequencies), not ICL: "

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("hoeffding", "mean of Bernoulli(1/2)", dict(eps=0.05, delta=0.05), mean_error(0.5)),
    Experiment(
        "hoeffding", "mean of Bernoulli(1/2), small delta (near-tight)", dict(eps=0.1, delta=1e-3), mean_error(0.5)
    ),
    Experiment(
        "paper.linear-classification-fixed",
        READING + "error estimate of a fixed predictor with error 1/2 (C = 1)",
        dict(eps=0.05, delta=0.05),
        mean_error(0.5),
    ),
    Experiment("tv.bretagnolle-huber-carol", "TV, uniform law on 10 outcomes", _TV, tv_error(uniform(V_TV))),
    Experiment("tv.bretagnolle-huber-carol", "TV, Zipf law on 10 outcomes", _TV, tv_error(zipf(V_TV))),
    Experiment(
        "tv.bretagnolle-huber-carol",
        "TV, V = 2 with p = 1/2, small delta (near-tight)",
        dict(eps=0.1, delta=1e-3, V=2),
        tv_error(np.array([0.5, 0.5])),
    ),
    Experiment("tv.expectation-mcdiarmid", "TV, uniform law on 10 outcomes", _TV, tv_error(uniform(V_TV))),
    Experiment("tv.expectation-mcdiarmid", "TV, Zipf law on 10 outcomes", _TV, tv_error(zipf(V_TV))),
    Experiment(
        "linf.dkw", "sup-norm, uniform law on 10 outcomes", dict(eps=0.05, delta=0.05), linf_error(uniform(V_TV))
    ),
    Experiment("linf.dkw", "sup-norm, Zipf law on 10 outcomes", dict(eps=0.05, delta=0.05), linf_error(zipf(V_TV))),
    Experiment(
        "text-generation.union", "max TV over 5 contexts (uniform and Zipf laws)", _CTX, contexts_tv_error(_LAWS)
    ),
    Experiment(
        "text-generation.mcdiarmid-union",
        "max TV over 5 contexts (uniform and Zipf laws)",
        _CTX,
        contexts_tv_error(_LAWS),
    ),
    Experiment(
        "text-generation.union",
        "max TV over 5 binary contexts with p = 1/2 (near-tight)",
        dict(eps=0.1, delta=0.01, m=M_CTX, V=2),
        contexts_tv_error(_COIN),
    ),
    Experiment(
        "text-generation.random-contexts",
        "max TV over 5 contexts drawn at random (uniform and Zipf laws)",
        _CTX,
        random_contexts_tv_error(_LAWS),
    ),
    Experiment(
        "paper.text-generation",
        READING + "max TV over 5 contexts (uniform and Zipf laws), N/m examples each, C = 1",
        _CTX,
        contexts_tv_error(_LAWS),
    ),
    Experiment(
        "paper.text-generation",
        READING + "max TV over 5 contexts drawn at random (the paper's setting), C = 1",
        _CTX,
        random_contexts_tv_error(_LAWS),
    ),
    Experiment(
        "contexts.coverage",
        "20 uniformly drawn contexts all seen",
        dict(delta=0.05, m=20),
        unseen_contexts(20),
        eps=1.0,
    ),
)


def experiments_for(bound_id: str) -> list[Experiment]:
    return [e for e in EXPERIMENTS if e.bound_id == bound_id]


def failures(exp: Experiment, n: int, trials: int, rng: np.random.Generator) -> int:
    """Number of trials whose error reaches the threshold."""
    return count_failures(exp.sample(n, trials, rng), exp.threshold)


def coverage(
    exp: Experiment, bound: Bound | None = None, *, trials: int = 20_000, seed: int = 0, conservativeness: bool = True
) -> dict:
    """Simulate `exp` at n = ceil(bound.n(params)) and decide whether the failure rate is compatible with <= delta.

    `bound` defaults to the catalogue bound named by the experiment (pass another to test a variant of it).

    Args:
        exp: the experiment (e.g. one of EXPERIMENTS).
        bound: the bound whose n is simulated (default: the catalogue bound the experiment names).
        trials: independent trials at n, an integer >= 1.
        seed: the random generator's seed (the same seed gives the same numbers).
        conservativeness: also search the smallest n on the grid n * 2^(j/8) from which the failure rate stays
            <= delta (n_empirical; costs several more simulations).

    Returns:
        Plain JSON: n, trials, failures, rate, ci95, p_value, passed, and (if asked) n_empirical and
            n_empirical_over_bound. Also bound, experiment, params, alpha, rate_at_half_n and power_2x_too_small
            (the test's power against a constant 2x too small).

    Raises:
        InputError: the experiment's params outside the bound's domain or validity conditions (from bound.n).
    """
    bound = bound or get(exp.bound_id)
    delta = exp.params["delta"]
    n = math.ceil(bound.n(**exp.params))
    k = failures(exp, n, trials, np.random.default_rng([seed, 0]))
    p_value, ci = rate_test(k, trials, delta)
    out = {
        "bound": bound.id,
        "experiment": exp.name,
        "params": dict(exp.params),
        "n": n,
        "trials": trials,
        "failures": k,
        "rate": k / trials,
        "ci95": list(ci),
        "p_value": p_value,
        "alpha": ALPHA,
        "passed": bool(p_value >= ALPHA),
    }
    # Power: if the bound's constant were 2x too small (n/2 samples), how often would this test reject?
    half = math.ceil(n / 2)
    rate_half = failures(exp, half, trials, np.random.default_rng([seed, 2])) / trials
    out |= {"rate_at_half_n": rate_half, "power_2x_too_small": power(trials, delta, rate_half, ALPHA)}
    if conservativeness:
        n_emp = empirical_n(exp, n, delta, trials=trials, seed=seed)
        out |= {"n_empirical": n_emp, "n_empirical_over_bound": None if n_emp is None else n_emp / n}
    return out


def empirical_n(exp: Experiment, n_bound: int, delta: float, *, trials: int, seed: int) -> int | None:
    """Smallest n on the grid n_bound * 2^(j/8) from which the empirical failure rate stays <= delta.

    Scans down from the bound's n while the rate stays <= delta; if the rate at the bound's n already exceeds
    delta, scans up (to 64x) instead. None if no grid point up to 64x meets delta.
    """

    def rate(j: int) -> tuple[int, float]:
        n = max(1, math.ceil(n_bound * GRID**j))
        return n, failures(exp, n, trials, np.random.default_rng([seed, 1, j + 1000])) / trials

    n0, r0 = rate(0)
    if r0 <= delta:
        best, j = n0, -1
        while True:
            n, r = rate(j)
            if r > delta or n <= 1:
                return best if r > delta else n
            best, j = n, j - 1
    for j in range(1, 49):  # up to 2^6 = 64x
        n, r = rate(j)
        if r <= delta:
            return n
    return None


def check(bound_id: str, **kwargs: object) -> list[dict]:
    """Coverage of every experiment registered for `bound_id` (empty if the bound has none)."""
    return [coverage(e, **kwargs) for e in experiments_for(bound_id)]
