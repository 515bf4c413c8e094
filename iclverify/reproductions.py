"""Known in-context regression results, read from finished runs: a check of the simulator before it tests the paper.

Two results of the field, each with its anchor's own figure of merit:

- **ICL tracks the Bayes-optimal ridge predictor** in noisy linear regression (Garg et al. 2022, Figure 2 and
  Section 4, who plot the squared error normalised by the dimension d against the number of examples; Akyurek et
  al. 2022, Section 4, who compare predictors by their squared prediction difference). Read from a regression run
  (`ridge_tracking`): per d, at N = d, 2d and n_max, the excess squared error / d of ICL, ridge at lam = sigma^2
  (the posterior mean), least squares, averaging and 3 nearest neighbours; and ICL's distance in prediction space
  to ridge and to least squares, averaged over N = 0..n_max, / d.
- **The task-diversity transition** (Raventos et al. 2023, Section 3 and Figure 2): pretrained on a pool of M
  tasks, the model behaves like the pool's posterior mean (dMMSE) when M is small and like ridge when M is large.
  Their figure of merit is the distance in prediction space, on fresh Gaussian tasks,
  dPMSE(f, g) / d = E_w E_prompt [ (1/K) sum_k (f(S_k) - g(S_k))^2 ] / d over the prompt's K positions; read from one
  run per pool size (`task_diversity`), averaged over N = 0..n_max.

Both read errors.npz arrays written by simulations.evaluate: 'd=4/icl' [S, T, N+1] and a baseline's [T, N+1]
(squared errors against the noiseless target), and 'd=4/icl_to_<baseline>' [S, T, N+1] (squared distance between
ICL's prediction and the baseline's, `Task.compared`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from simulations.records import compared
from simulations.run import Run
from theory.errors import InputError

GARG_METHODS = ("icl", "ridge", "least_squares", "averaging", "nearest_neighbours")


def _mean(run: Run, params: dict, method: str) -> np.ndarray | None:
    """The mean over seeds and tasks of one curve's errors.npz array, per N; None when the run has no such array."""
    values = run.errors.get_method(params, method)
    return None if values is None else np.asarray(values, dtype=np.float64).reshape(-1, values.shape[-1]).mean(0)


def ridge_tracking(run: Run) -> list[dict]:
    """Per curve of a regression run: the normalised excess errors (Garg et al. 2022) at N = d, 2d and n_max and
    ICL's prediction distances to ridge and least squares (Akyurek et al. 2022), each / d.

    Returns:
        One dict per d: {'d', 'n': [N...], 'error_over_d': {method: [...]}, 'distance_over_d': {baseline: value}};
        a method the run lacks is left out.
    """
    out = []
    n_max = run.cfg.task.n_max
    for params in run.cfg.task.curves:
        d = int(params["d"])
        ns = sorted({n for n in (d, 2 * d, n_max) if n <= n_max})
        errors = {m: _mean(run, params, m) for m in GARG_METHODS}
        distances = {b: _mean(run, params, compared(b)) for b in ("ridge", "least_squares")}
        out.append(
            {
                "d": d,
                "n": ns,
                "error_over_d": {m: [float(e[n]) / d for n in ns] for m, e in errors.items() if e is not None},
                "distance_over_d": {b: float(v.mean()) / d for b, v in distances.items() if v is not None},
            }
        )
    return out


def task_diversity(runs: Mapping[int, Run]) -> list[dict]:
    """Per pool size M (runs keyed by M, one curve each): ICL's dPMSE / d to dMMSE and to ridge on fresh Gaussian
    tasks (Raventos et al. 2023), which it is nearer to, and the three excess errors at n_max.

    Returns:
        One dict per M, ascending: {'pool', 'd', 'distance_over_d': {'dmmse', 'ridge'}, 'nearer',
        'error_at_n_max': {'icl', 'dmmse', 'ridge'}}.
    """
    out = []
    for pool in sorted(runs):
        run = runs[pool]
        (params,) = run.cfg.task.curves
        d = int(params["d"])
        means = {b: _mean(run, params, compared(b)) for b in ("dmmse", "ridge")}
        if any(m is None for m in means.values()):
            names = " and ".join(compared(b) for b in means)
            raise InputError(f"{run.path} has no {names}: not a pool run of a regression")
        dist = {b: float(m.mean()) / d for b, m in means.items()}
        last = {m: float(_mean(run, params, m)[-1]) for m in ("icl", "dmmse", "ridge")}
        nearer = min(dist, key=dist.get)
        out.append({"pool": pool, "d": d, "distance_over_d": dist, "nearer": nearer, "error_at_n_max": last})
    return out


def markdown(tracking: list[dict], diversity: list[dict]) -> list[str]:
    """The two reproductions as markdown tables (either list may be empty)."""
    md = []
    if tracking:
        md += [
            "**ICL tracks ridge** (Garg et al. 2022; Akyurek et al. 2022). Excess squared error / d on fresh tasks "
            "(the figure of merit of Garg et al.'s Figure 2 without its noise floor), and ICL's distance in "
            "prediction space to ridge and to least squares averaged over N = 0..n_max, / d (the distance to least "
            "squares is dominated by its interpolation peak at N near d). Ridge at lam = sigma^2 is the "
            "Bayes-optimal predictor; a model that learned the task sits on it.",
            "",
            "| d | N | ICL | ridge | least squares | averaging | 3-NN | ICL to ridge | ICL to least squares |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in tracking:
            err, dist = row["error_over_d"], row["distance_over_d"]
            for i, n in enumerate(row["n"]):
                cells = [_fmt(err[m][i]) if m in err else "--" for m in GARG_METHODS]
                far = [_fmt(dist[b]) if b in dist and i == 0 else "" for b in ("ridge", "least_squares")]
                md.append(f"| {row['d'] if i == 0 else ''} | {n} | " + " | ".join(cells + far) + " |")
        md.append("")
    if diversity:
        md += [
            "**Task diversity** (Raventos et al. 2023). Pretrained on a pool of M tasks, evaluated on fresh Gaussian "
            "tasks: ICL's distance in prediction space to the pool's posterior mean (dMMSE) and to ridge, averaged "
            "over N = 0..n_max, / d (their figure of merit), and the excess errors at n_max. Expected: nearer to "
            "dMMSE for a small pool, to ridge for a large one.",
            "",
            "| pool M | d | ICL to dMMSE | ICL to ridge | nearer | ICL error | dMMSE error | ridge error |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in diversity:
            dist, err = row["distance_over_d"], row["error_at_n_max"]
            md.append(
                f"| {row['pool']} | {row['d']} | {_fmt(dist['dmmse'])} | {_fmt(dist['ridge'])} | {row['nearer']} | "
                f"{_fmt(err['icl'])} | {_fmt(err['dmmse'])} | {_fmt(err['ridge'])} |"
            )
        md.append("")
    return md


def _fmt(x: float) -> str:
    return f"{x:.3g}"
