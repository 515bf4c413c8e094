"""`iclverify calibrate`: how often the rate verdicts come out right, on synthetic learners of known behaviour.

The rate and scaling checks of `iclverify.verdicts` are fed error arrays [seeds, tasks, N] drawn from learners
whose mean error is known exactly, at the sizes of a preset's runs (its dimensions or (m, V) families, n_max,
seeds and per-task-risk tasks), and the verdicts are counted over many repetitions:

- a learner whose rate is at least as good as the claim must be called inconsistent at most at the nominal level
  (the one-sided rule rejects when the 95% interval lies above the claim: 2.5%); we require <= 0.1;
- a learner at the alternative (half the exponent in N, or twice the dependence on the size) must be called
  inconsistent with power >= 0.8.

Noise of the size real runs have (measured on the quick report's runs: per-task risk has a coefficient of
variation of 0.2-1.3 across tasks, and seeds' mean curves differ by 0.1-7%): a unit's error is
  p = f(size, N) * g_task * h_seed(N),  g_task ~ Gamma(shape 1/TASK_CV^2, mean 1),
  h_seed(N) = exp(SEED_SD z_1 + SEED_SLOPE_SD z_2 log(N / n_min)),  z ~ N(0, 1) per seed,
with f scaled so that its largest value at the start of a fit range is START_ERROR, and the recorded per-task
risk is the mean error over K = risk_queries queries: Binomial(K, min(p, 1)) / K for a metric in [0, 1],
p * Gamma(K/2, 2/K) (a mean of K squared Gaussians) for squared error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from iclverify import verdicts as V
from simulations import rates
from simulations.config import PRESETS, RunConfig

TASK_CV = 0.6
SEED_SD = 0.05
SEED_SLOPE_SD = 0.03
POWER = 0.8  # required probability of "inconsistent" for a wrong rate
FALSE_ALARM = 0.1  # largest allowed probability of "inconsistent" for a right rate
START_ERROR = 0.25  # the largest mean error at the start of a fit range


@dataclass(frozen=True)
class Learner:
    """A synthetic learner: mean error f(size, N), its exponent in N and its N*(eps) exponent in the size."""

    name: str
    f: Callable[[np.ndarray, np.ndarray], np.ndarray]
    exponent: float
    scaling: float


def learners(claimed: float) -> list[Learner]:
    """Learners for a claim error ~ (size / N)^(-claimed), up to a constant: the claim's own rate and three wrong
    ones. For a claimed -1 (d / N): d/N, d^2/N, sqrt(d/N), 1/sqrt(N); for -1/2 (sqrt(m V / N)): sqrt(s/N),
    s/sqrt(N), (s/N)^(1/4), 1/N^(1/4)."""
    a = -claimed  # error ~ (s/N)^a, N*(eps) ~ s eps^(-1/a)
    return [
        Learner(f"(s/N)^{a:g}", lambda s, n: (s / n) ** a, claimed, 1.0),
        Learner(f"s^{2 * a:g} / N^{a:g}", lambda s, n: s ** (2 * a) / n**a, claimed, 2.0),
        Learner(f"(s/N)^{a / 2:g}", lambda s, n: (s / n) ** (a / 2), claimed / 2, 1.0),
        Learner(f"1 / N^{a / 2:g}", lambda s, n: n ** (-a / 2), claimed / 2, 0.0),
    ]


def sample(
    mean: np.ndarray, ns: np.ndarray, n_min: int, shape: tuple[int, int, int], bounded: bool, rng: np.random.Generator
) -> np.ndarray:
    """One curve's errors [seeds, tasks, N] around the exact mean curve `mean` [N] (noise: module docstring)."""
    seeds, tasks, queries = shape
    n = np.maximum(ns, 1).astype(np.float64)
    g = rng.gamma(1 / TASK_CV**2, TASK_CV**2, size=(1, tasks, 1))
    z = rng.standard_normal((2, seeds, 1, 1))
    h = np.exp(SEED_SD * z[0] + SEED_SLOPE_SD * z[1] * np.log(n / max(n_min, 1)))
    p = mean * g * h
    if bounded:
        return rng.binomial(queries, np.minimum(p, 1.0)) / queries
    return p * rng.gamma(queries / 2, 2 / queries, size=p.shape)


@dataclass(frozen=True)
class Case:
    """The sizes of one preset run, as the verdicts see them."""

    preset: str
    kind: str
    cfg: RunConfig

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.cfg.train.seeds, self.cfg.eval.risk_tasks, self.cfg.eval.risk_queries


def cases(presets: tuple[str, ...] = ("quick", "full")) -> list[Case]:
    return [Case(p, kind, cfg) for p in presets for kind, cfg in PRESETS[p].items()]


def calibrate_case(case: Case, reps: int, seed: int = 0) -> list[dict]:
    """Verdict frequencies of the exponent and scaling checks for each learner, over `reps` repetitions."""
    task = case.cfg.task
    ns = np.arange(task.n_max + 1)
    curves = task.curves
    sizes = [task.size(p) for p in curves]
    starts = [task.asymptotic_start(p) for p in curves]
    bounded = np.isfinite(task.error_max)
    out = []
    n = np.maximum(ns, 1).astype(np.float64)
    for li, learner in enumerate(learners(task.exponent)):
        # the constant: the largest mean error at a fit range's start is START_ERROR (no clipping at 1 in practice)
        scale = START_ERROR / max(learner.f(s, np.float64(n0)) for s, n0 in zip(sizes, starts, strict=True))
        means = [scale * learner.f(np.float64(s), n) for s in sizes]
        counts = {"exponent": dict.fromkeys(V.VERDICTS, 0), "scaling": dict.fromkeys(V.VERDICTS, 0)}
        for r in range(reps):
            rng = np.random.default_rng([seed, li, r])
            arrays = [sample(m, ns, n0, case.shape, bounded, rng) for m, n0 in zip(means, starts, strict=True)]
            for j, (u, n0) in enumerate(zip(arrays, starts, strict=True)):
                est = rates.exponent(u, ns, n0, seed=r * 100 + j)
                counts["exponent"][V.decide_upper(est, task.exponent, V.alternative(task.exponent, in_n=True))] += 1
            est = rates.scaling(list(zip(sizes, arrays, strict=True)), ns, starts, seed=r * 100 + 99)
            counts["scaling"][V.decide_upper(est, 1.0, V.alternative(1.0, in_n=False))] += 1
        for check, true, claimed, alt in (
            ("exponent", learner.exponent, task.exponent, V.alternative(task.exponent, in_n=True)),
            ("scaling", learner.scaling, 1.0, V.alternative(1.0, in_n=False)),
        ):
            total = sum(counts[check].values())
            freq = {k: v / total for k, v in counts[check].items()}
            right = true <= claimed
            wanted = "false alarm <= 0.1" if right else "power >= 0.8"
            ok = freq["inconsistent"] <= FALSE_ALARM if right else freq["inconsistent"] >= POWER
            if not right and true < alt:
                wanted, ok = "between claim and alternative (no requirement)", None
            out.append(
                {
                    "preset": case.preset,
                    "task": case.kind,
                    "sizes": sizes,
                    "n_max": task.n_max,
                    "seeds": case.shape[0],
                    "tasks": case.shape[1],
                    "learner": learner.name,
                    "check": check,
                    "true": true,
                    "claimed": claimed,
                    "alternative": alt,
                    "rate": "right" if right else "wrong",
                    "frequencies": freq,
                    "requirement": wanted,
                    "met": ok,
                    "repetitions": reps,
                }
            )
    return out


def calibrate(
    presets: tuple[str, ...] = ("quick", "full"), reps: int = 100, seed: int = 0, progress=None
) -> list[dict]:
    """Every case of `presets` (see calibrate_case); progress(case) is called before each one."""
    rows = []
    for case in cases(presets):
        if progress:
            progress(case)
        rows += calibrate_case(case, reps, seed)
    return rows


def table(rows: list[dict]) -> list[str]:
    """Markdown table of calibration rows."""
    lines = [
        "| preset | task | learner | check | true / claimed | P(consistent) | P(inconclusive) | P(inconsistent) "
        "| requirement | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f = r["frequencies"]
        met = "-" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(
            f"| {r['preset']} | {r['task']} | {r['learner']} | {r['check']} | {r['true']:g} / {r['claimed']:g} | "
            f"{f['consistent']:.2f} | {f['inconclusive']:.2f} | {f['inconsistent']:.2f} | {r['requirement']} | {met} |"
        )
    return lines
