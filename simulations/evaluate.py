"""Evaluation on held-out tasks: error of in-context learning, of the baselines and of fine-tuning, vs N.

Evaluation tasks come from the run's evaluation key, a branch of the run seed disjoint from every training key
(see train.keys); all seeds' models see the same evaluation tasks. Classification error is the 0-1 error against
the clean teacher label sign(<w, x>) (a tie counts 1/2); tokens error is TV(predicted law, p(.|c_query)).
Fine-tuning is evaluated at N in finetune.grid(n_max) on the first `finetune_tasks` tasks; those methods carry
their own "n_examples". Intervals: 95% percentile bootstrap (scipy.stats.bootstrap) over units = (seed, task)
pairs for the model and fine-tuning, tasks for the baselines.

Per-task risk (the quantity PAC statements bound, with probability 1 - delta over the examples): on the first
`risk_tasks` tasks, the in-context predictor after N examples is asked many queries in one pass
(prompts.many_queries). Classification: its 0-1 error on `risk_queries` fresh inputs ("icl_risk", an unbiased
estimate of the task's true error, binomial noise of sd <= 0.5 / sqrt(risk_queries)). Tokens: TV to the truth at
every active context, averaged ("icl_risk") and maximized ("icl_risk_max", the paper's metric) over contexts.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats
from tqdm.auto import tqdm

from simulations import baselines, problem, prompts
from simulations.config import RunConfig, curve_key
from simulations.finetune import finetune_predictions, grid
from simulations.train import keys

CHUNK = 128  # tasks per jitted evaluation call
RISK_CHUNK = 16  # tasks per call for the per-task risk (its sequences are long)
FINETUNED = ("finetune", "icl_vs_finetune")  # evaluated on finetune.grid(n_max), named in their "n_examples"


# compiled once per process and shared by every curve
BASELINES = {
    name: jax.jit(jax.vmap(fn))
    for name, fn in (
        ("averaging", baselines.averaging),
        ("logistic", baselines.logistic),
        ("max_margin", baselines.max_margin),
    )
}
BAYES = jax.jit(jax.vmap(baselines.bayes, in_axes=(0, 0, 0, 0, None, None)), static_argnums=(4, 5))


def zero_one(pred: jax.Array, truth: jax.Array) -> jax.Array:
    """0-1 error of +-1 predictions; a tie (0) counts 1/2."""
    return jnp.where(pred == 0, 0.5, (pred != truth).astype(jnp.float32))


def tv(p: jax.Array, q: jax.Array) -> jax.Array:
    return 0.5 * jnp.abs(p - q).sum(-1)


def summarize(units: np.ndarray, seed: int, resamples: int) -> dict[str, list[float]]:
    """Mean over axis 0 and its 95% bootstrap interval, for every N."""
    units = np.asarray(units, dtype=np.float64)
    mean = units.mean(axis=0)
    if units.shape[0] < 2:
        low = high = mean
    else:
        res = stats.bootstrap(
            (units,),
            np.mean,
            axis=0,
            vectorized=True,
            n_resamples=resamples,
            method="percentile",
            random_state=np.random.default_rng(seed),
        )
        low, high = res.confidence_interval
        low, high = np.minimum(low, mean), np.maximum(high, mean)  # degenerate resamples give the point itself
    return {"mean": mean.tolist(), "ci_low": np.asarray(low).tolist(), "ci_high": np.asarray(high).tolist()}


def _tasks(cfg: RunConfig, family: int, count: int) -> dict[str, jax.Array]:
    _, _, k_eval = keys(cfg)
    ks = jax.random.split(jax.random.fold_in(k_eval, family), count)
    return jax.vmap(lambda k: problem.sample_task(cfg, k, jnp.asarray(family)))(ks)


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


def _risk(cfg: RunConfig, models: eqx.Module, tasks: dict, family: int, m: int | None) -> dict[str, np.ndarray]:
    """Per-task risk of the in-context predictor at every N: [S, E_risk, n+1] (see the module docstring)."""
    ev = cfg.eval
    tasks = {k: v[: ev.risk_tasks] for k, v in tasks.items()}
    if cfg.task.kind == "classification":
        _, _, k_eval = keys(cfg)
        qkey = jax.random.fold_in(jax.random.fold_in(k_eval, family), 2)
        active = (jnp.arange(tasks["x"].shape[-1]) < tasks["active"][:, None, None]).astype(jnp.float32)
        xq = jax.random.normal(qkey, (tasks["x"].shape[0], ev.risk_queries, tasks["x"].shape[-1])) * active
        truth = jnp.where(jnp.einsum("ekd,ed->ek", xq, tasks["w"]) >= 0, 1.0, -1.0)
        tasks = tasks | {"queries": jax.vmap(prompts.classification_queries)(xq)}
        out = np.sign(_per_seed(models, tasks, cached_runner(cfg, "many"), RISK_CHUNK))  # [S, E, n+1, K]
        return {"icl_risk": np.asarray(zero_one(out, truth[None, :, None])).mean(-1)}
    m_max, v_max = problem._maxima(cfg)
    contexts = jnp.arange(m_max)
    tasks = tasks | {
        "queries": jnp.broadcast_to(
            prompts.tokens_queries(contexts, m_max, v_max), (tasks["c"].shape[0], m_max, m_max + v_max + 2)
        )
    }
    out = np.exp(_per_seed(models, tasks, cached_runner(cfg, "many"), RISK_CHUNK))  # [S, E, n+1, m_max, V_max]
    dist = np.asarray(tv(out, tasks["probs"][None, :, None]))[..., :m]  # active contexts only
    return {"icl_risk": dist.mean(-1), "icl_risk_max": dist.max(-1)}


def _model_outputs(cfg: RunConfig, models: eqx.Module, tasks: dict) -> np.ndarray:
    return _per_seed(models, tasks, cached_runner(cfg, "icl"))


def _finetune_outputs(cfg: RunConfig, models: eqx.Module, tasks: dict) -> np.ndarray:
    return _per_seed(models, tasks, cached_runner(cfg, "finetune"))


def _classification(cfg: RunConfig, models, tasks, ft_tasks, family: int) -> dict[str, np.ndarray]:
    n = cfg.task.n_max
    truth = tasks["y_clean"]  # label of x_N, the query after N examples
    icl = np.sign(_model_outputs(cfg, models, tasks))  # [S, E, n+1]
    out = {"icl": np.asarray(zero_one(icl, truth[None]))}
    x, y = tasks["x"], tasks["y"]
    for name in BASELINES:
        out[name] = np.asarray(zero_one(BASELINES[name](x, y), truth))
    if cfg.task.label_noise == 0:
        _, _, k_eval = keys(cfg)
        bkeys = jax.random.split(jax.random.fold_in(jax.random.fold_in(k_eval, family), 1), x.shape[0])
        active = (jnp.arange(x.shape[-1])[None, :] < tasks["active"][:, None]).astype(jnp.float32)
        ev = cfg.eval
        out["bayes"] = np.asarray(zero_one(BAYES(bkeys, x, y, active, ev.bayes_chains, ev.bayes_steps), truth))
    g = grid(n)
    ft = np.sign(_finetune_outputs(cfg, models, ft_tasks))  # [S, E_ft, len(g)]
    e_ft = ft.shape[1]
    out["finetune"] = np.asarray(zero_one(ft, ft_tasks["y_clean"][None][..., g]))
    out["icl_vs_finetune"] = (icl[:, :e_ft][..., g] != ft).astype(np.float32)
    assert out["icl"].shape[-1] == n + 1
    return out


def _tokens(cfg: RunConfig, models, tasks, ft_tasks) -> dict[str, np.ndarray]:
    def truth_of(t):
        return jnp.take_along_axis(t["probs"], t["c"][:, :, None], axis=1)  # [E, n+1, V_max] = p(.|c_N)

    truth = truth_of(tasks)
    icl = np.exp(_model_outputs(cfg, models, tasks))  # [S, E, n+1, V_max]
    out = {"icl": np.asarray(tv(icl, truth[None]))}
    m_max, v_max = problem._maxima(cfg)
    counts = jax.vmap(lambda c, t: baselines.context_counts(c, t, m_max, v_max))(tasks["c"], tasks["t"])
    estimates = jax.vmap(lambda k, v: baselines.token_estimates(k, v, cfg.task.alpha))(counts, tasks["active"])
    for name, est in estimates.items():
        out[name] = np.asarray(tv(est, truth))
    g = grid(cfg.task.n_max)
    ft = np.exp(_finetune_outputs(cfg, models, ft_tasks))  # [S, E_ft, len(g), V_max]
    e_ft = ft.shape[1]
    out["finetune"] = np.asarray(tv(ft, truth_of(ft_tasks)[None][:, :, g]))
    out["icl_vs_finetune"] = np.asarray(tv(icl[:, :e_ft][:, :, g], ft))
    return out


def evaluate(cfg: RunConfig, models: eqx.Module, *, progress: bool = True) -> tuple[list[dict], dict[str, np.ndarray]]:
    """One curve per task-parameter value: {'params': ..., 'methods': {name: {mean, ci_low, ci_high}}}, and the
    per-unit errors behind them, keyed 'd=4/icl': [seeds, tasks, N] for the model and fine-tuning, [tasks, N] for
    baselines (for fits that resample seeds and tasks)."""
    curves, errors = [], {}
    for family, params in enumerate(tqdm(cfg.task.curves, desc="evaluate", disable=not progress)):
        tasks = _tasks(cfg, family, cfg.eval.tasks)
        ft_tasks = {k: v[: cfg.eval.finetune_tasks] for k, v in tasks.items()}
        if cfg.task.kind == "classification":
            raw = _classification(cfg, models, tasks, ft_tasks, family)
        else:
            raw = _tokens(cfg, models, tasks, ft_tasks)
        if cfg.model.attention == "causal":
            raw |= _risk(cfg, models, tasks, family, params.get("m"))
        methods = {}
        for i, (name, values) in enumerate(raw.items()):
            units = values.reshape(-1, values.shape[-1])
            summary = summarize(units, seed=cfg.seed * 1000 + family * 100 + i, resamples=cfg.eval.bootstrap)
            if name in FINETUNED:
                summary = {"n_examples": grid(cfg.task.n_max)} | summary
            methods[name] = summary
            errors[f"{curve_key(params)}/{name}"] = np.asarray(values, dtype=np.float32)
        curves.append({"params": params, "methods": methods})
    return curves, errors
