"""Evaluation on held-out tasks: error of in-context learning, of the baselines and of fine-tuning, vs N.

Evaluation tasks come from the run's evaluation key, a branch of the run seed disjoint from every training key
(see train.keys); all seeds' models see the same evaluation tasks, always fresh draws from the family's prior (a
finite pretraining pool is never evaluated on). Every error is the task's `error(prediction, truth)` (0-1 error
against the clean label, TV to the true law, excess squared error, ...; simulations.tasks). Methods per curve, in
order: icl, the task's baselines, its exact expected errors, finetune and icl_vs_finetune (evaluated at N in
finetune.grid(n_max) on the first `finetune_tasks` tasks; they carry their own "n_examples"), then the per-task
risks. Intervals: 95% two-stage percentile bootstrap over seeds and tasks (simulations.rates; tasks alone for the
baselines).

Per-task risk (the quantity PAC statements bound, with probability 1 - delta over the examples): on the first
`risk_tasks` tasks, the in-context predictor after N examples is asked the task's extra queries (Task.risk_queries:
fresh inputs, or every context) in one pass (prompts.many_queries), and their errors are summarised per task
(Task.risk_summary: "icl_risk", and for tokens "icl_risk_max", the worst context -- the paper's metric).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from simulations import problem, rates
from simulations.config import RunConfig, curve_key
from simulations.finetune import finetune_predictions, grid
from simulations.train import keys

CHUNK = 128  # tasks per jitted evaluation call
RISK_CHUNK = 16  # tasks per call for the per-task risk (its sequences are long)
FINETUNED = ("finetune", "icl_vs_finetune")  # evaluated on finetune.grid(n_max), named in their "n_examples"


def summarize(values: np.ndarray, seed: int, resamples: int) -> dict[str, list[float]]:
    """Mean over seeds and tasks of values [S, T, N] (or a baseline's [T, N]) and its 95% two-stage bootstrap
    interval (simulations.rates: seeds and tasks resampled independently), for every N."""
    units = rates.as_units(values)
    mean = units.mean((0, 1))
    low, high = rates.mean_interval(units, seed=seed, resamples=resamples)
    low, high = np.minimum(low, mean), np.maximum(high, mean)  # degenerate resamples give the point itself
    return {"mean": mean.tolist(), "ci_low": np.asarray(low).tolist(), "ci_high": np.asarray(high).tolist()}


def _tasks(cfg: RunConfig, family: int, count: int) -> dict[str, jax.Array]:
    ks = jax.random.split(_curve_key(cfg, family), count)
    return jax.vmap(lambda k: problem.sample_task(cfg, k, jnp.asarray(family)))(ks)


def _curve_key(cfg: RunConfig, family: int, branch: int | None = None) -> jax.Array:
    """The evaluation key of one curve (its tasks), or of one of its branches (1: baselines, 2: risk queries)."""
    _, _, k_eval = keys(cfg)
    key = jax.random.fold_in(k_eval, family)
    return key if branch is None else jax.random.fold_in(key, branch)


def _chunks(tree: dict, size: int):
    total = next(iter(tree.values())).shape[0]
    for start in range(0, total, size):
        yield {k: v[start : start + size] for k, v in tree.items()}


def runner(predict):
    """A jitted map of predict(model, task) over seeds' models and a chunk of tasks."""

    @eqx.filter_jit
    def run(ms, part):
        return eqx.filter_vmap(lambda m: jax.vmap(lambda t: predict(m, t))(part))(ms)

    return run


PREDICTORS = {
    "icl": lambda cfg: lambda m, t: problem.predict(cfg, m, t["features"], t["active"]),
    "finetune": lambda cfg: lambda m, t: finetune_predictions(cfg, m, t),
    "many": lambda cfg: lambda m, t: problem.predict_many(cfg, m, t["features"], t["active"], t["queries"]),
}


@functools.lru_cache(maxsize=32)
def cached_runner(cfg: RunConfig, what: str):
    """One compiled runner per (config, predictor), shared by every curve (their shapes agree: inputs are padded)."""
    return runner(PREDICTORS[what](cfg))


def _per_seed(models: eqx.Module, tasks: dict, run, chunk: int = CHUNK) -> np.ndarray:
    """run(models, chunk of tasks) over all tasks, concatenated: [S, E, ...]."""
    return np.concatenate([np.asarray(run(models, c)) for c in _chunks(tasks, chunk)], axis=1)


def _risk(cfg: RunConfig, models: eqx.Module, tasks: dict, key: jax.Array, params: dict) -> dict[str, np.ndarray]:
    """Per-task risk of the in-context predictor at every N: {name: [S, E_risk, n+1]} (see the module docstring)."""
    task, ev = cfg.task, cfg.eval
    tasks = {k: v[: ev.risk_tasks] for k, v in tasks.items()}
    queries, truth = task.risk_queries(tasks, key, ev)
    out = task.prediction(_per_seed(models, tasks | {"queries": queries}, cached_runner(cfg, "many"), RISK_CHUNK))
    errors = np.asarray(task.error(out, truth[None, :, None]))  # [S, E, n+1, K]
    risks = task.risk_summary(errors, params)
    for suffix, other in task.secondary(out, truth[None, :, None]).items():
        risks |= {f"{k}_{suffix}": v for k, v in task.risk_summary(np.asarray(other), params).items()}
    return risks


def _pool(cfg: RunConfig, family: int) -> dict | None:
    """The pretraining pool's tasks of one curve (their latent parameters are what a pool baseline needs)."""
    if cfg.task.pool is None:
        return None
    latent = problem.pool_keys(cfg)
    key = jax.random.PRNGKey(0)  # the examples are not used
    return jax.vmap(lambda lk: cfg.task.sample(key, jnp.asarray(family), lk))(latent)


def _errors(cfg: RunConfig, models, tasks, ft_tasks, family: int) -> dict[str, np.ndarray]:
    """Errors of ICL, the baselines, the exact expected errors and fine-tuning on one curve's tasks."""
    task = cfg.task
    truth = task.truth(tasks)
    icl = task.prediction(_per_seed(models, tasks, cached_runner(cfg, "icl")))  # [S, E, n+1, ...]
    out = {"icl": np.asarray(task.error(icl, truth[None]))}
    out |= {f"icl_{suffix}": np.asarray(e) for suffix, e in task.secondary(icl, truth[None]).items()}
    for name, pred in task.baselines(tasks, _curve_key(cfg, family, 1), cfg.eval, _pool(cfg, family)).items():
        out[name] = np.asarray(task.error(pred, truth))
        if name in task.references:
            out |= {f"{name}_{suffix}": np.asarray(e) for suffix, e in task.secondary(pred, truth).items()}
    out |= {name: np.asarray(v) for name, v in task.expected_errors(tasks).items()}
    g = grid(task.n_max)
    ft = task.prediction(_per_seed(models, ft_tasks, cached_runner(cfg, "finetune")))  # [S, E_ft, len(g), ...]
    out["finetune"] = np.asarray(task.error(ft, task.truth(ft_tasks)[None][:, :, g]))
    out["icl_vs_finetune"] = np.asarray(task.disagreement(icl[:, : ft.shape[1]][:, :, g], ft))
    return out


def evaluate(cfg: RunConfig, models: eqx.Module, *, progress: bool = True) -> tuple[list[dict], dict[str, np.ndarray]]:
    """One curve per task-parameter value: {'params': ..., 'methods': {name: {mean, ci_low, ci_high}}}, and the
    per-unit errors behind them, keyed 'd=4/icl': [seeds, tasks, N] for the model and fine-tuning, [tasks, N] for
    baselines (for fits that resample seeds and tasks)."""
    curves, errors = [], {}
    for family, params in enumerate(tqdm(cfg.task.curves, desc="evaluate", disable=not progress)):
        tasks = _tasks(cfg, family, cfg.eval.tasks)
        ft_tasks = {k: v[: cfg.eval.finetune_tasks] for k, v in tasks.items()}
        raw = _errors(cfg, models, tasks, ft_tasks, family)
        if cfg.model.attention == "causal":
            raw |= _risk(cfg, models, tasks, _curve_key(cfg, family, 2), params)
        methods = {}
        for i, (name, values) in enumerate(raw.items()):
            summary = summarize(values, seed=cfg.seed * 1000 + family * 100 + i, resamples=cfg.eval.bootstrap)
            if name in FINETUNED:
                summary = {"n_examples": grid(cfg.task.n_max)} | summary
            methods[name] = summary
            errors[f"{curve_key(params)}/{name}"] = np.asarray(values, dtype=np.float32)
        curves.append({"params": params, "methods": methods})
    return curves, errors
