"""Evaluation on held-out tasks: error of in-context learning, of the baselines and of fine-tuning, vs N.

Evaluation tasks come from the run's evaluation key, a branch of the run seed disjoint from every training key
(simulations.keys); all seeds' models see the same evaluation tasks, always fresh draws from the family's prior (a
finite pretraining pool is never evaluated on). Every error is the task's `error(prediction, truth)` (0-1 error
against the clean label, TV to the true law, excess squared error, ...; simulations.tasks). Methods per curve, in
order: icl, the task's baselines, its exact expected errors, the per-task risks, then the fine-tuned model's
per-task risks and icl_vs_finetune (evaluated at N in finetune.grid(n_max) on the first `finetune_tasks` risk
tasks and the same queries as ICL's, with settings chosen on validation tasks; they carry their own
"n_examples", and the chosen settings are in each curve's "finetune_settings"); methods scored in another metric
(Task.secondary) carry "metric", as do ICL's distances to the baselines of Task.compared ("icl_to_ridge": the
task's error between ICL's prediction and the baseline's, the prediction-space distance of Raventos et al. 2023).
Intervals: 95% two-stage percentile bootstrap over seeds and tasks
(simulations.rates; tasks alone for the baselines).

Per-task risk (the quantity PAC statements bound, with probability 1 - delta over the examples): on the first
`risk_tasks` tasks, the in-context predictor after N examples is asked the task's extra queries (Task.risk_queries:
fresh inputs, or every context) in one pass (problem.predict_many), and their errors are summarised per task
(Task.risk_summary: "icl_risk", and for tokens "icl_risk_max", the worst context -- the paper's metric).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from simulations import problem, rates, records
from simulations.config import RunConfig, TrainConfig
from simulations.files import DamagedFile, read_checked, write_checked
from simulations.finetune import checkpoints, finetune_outputs, grid
from simulations.keys import Curve, eval_key, pool_keys
from simulations.records import COMPARED, VERSUS, Errors, compared, curve_key, finetuned, learner


def summarize(values: np.ndarray, seed: int, resamples: int) -> dict[str, list[float]]:
    """Mean over seeds and tasks of values [S, T, N] (or a baseline's [T, N]) and its 95% two-stage bootstrap
    interval (simulations.rates: seeds and tasks resampled independently), for every N."""
    units = rates.as_units(values)
    mean = units.mean((0, 1))
    low, high = rates.mean_interval(units, seed=seed, resamples=resamples)
    low, high = np.minimum(low, mean), np.maximum(high, mean)  # degenerate resamples give the point itself
    return {"mean": mean.tolist(), "ci_low": np.asarray(low).tolist(), "ci_high": np.asarray(high).tolist()}


def eval_tasks(cfg: RunConfig, family: int, count: int, branch: Curve | None = None) -> dict[str, jax.Array]:
    """`count` held-out tasks of curve `family`, from its evaluation key (or one of its branches)."""
    return _sampler(programs(cfg), count)(eval_key(cfg, family, branch), jnp.asarray(family))


def programs(cfg: RunConfig) -> RunConfig:
    """What the evaluation's compiled programs depend on -- the task, the model and the evaluation settings, not
    the seed or the training settings (the seed enters through keys, the models as arguments): runs that differ
    only there, such as a sweep's seeds, share the compiled programs cached below."""
    return dataclasses.replace(cfg, seed=0, train=TrainConfig())


@functools.lru_cache(maxsize=32)
def _sampler(cfg: RunConfig, count: int):
    """`count` tasks of one curve from its key, compiled once per config (run eagerly, the sampler's operations
    were compiled one by one: several seconds per run)."""

    def sample(key, family):
        return jax.vmap(lambda k: problem.sample_task(cfg, k, family))(jax.random.split(key, count))

    return jax.jit(sample)


def _chunks(tree: dict, size: int):
    total = jax.tree.leaves(tree)[0].shape[0]
    for rows in (slice(start, start + size) for start in range(0, total, size)):
        yield jax.tree.map(lambda v, rows=rows: v[rows], tree)


def _padded(tree: dict, size: int) -> dict:
    """tree (arrays with a leading task axis) with its last row repeated up to a multiple of `size` rows, so
    that every chunk has one shape: one compiled program."""
    pad = -jax.tree.leaves(tree)[0].shape[0] % size
    return jax.tree.map(lambda v: np.concatenate([v, np.repeat(v[-1:], pad, axis=0)]), tree)


def map_tasks(fn, tree: dict, size: int):
    """fn(chunk) over chunks of `size` tasks of tree (at most all of them; the last chunk padded, its padding
    dropped), outputs (pytrees of [chunk, ...]) concatenated on the host: one compiled call holds `size` tasks."""
    total = jax.tree.leaves(tree)[0].shape[0]
    size = min(size, total)
    parts = [jax.tree.map(np.asarray, fn(part)) for part in _chunks(_padded(tree, size), size)]
    return jax.tree.map(lambda *p: np.concatenate(p)[:total], *parts)


def runner(predict):
    """A jitted map of predict(model, task) over seeds' models and a chunk of tasks."""

    @eqx.filter_jit
    def run(ms, part):
        return eqx.filter_vmap(lambda m: jax.vmap(lambda t: predict(m, t))(part))(ms)

    return run


PREDICTORS = {
    "icl": lambda cfg: lambda m, t: problem.predict(cfg, m, t["features"], t["active"]),
    "many": lambda cfg: lambda m, t: problem.predict_many(cfg, m, t["features"], t["active"], t["queries"]),
}


def cached_runner(cfg: RunConfig, what: str):
    """One compiled runner per (config, predictor), shared by every curve (their shapes agree: inputs are padded)."""
    return _runner(programs(cfg), what)


@functools.lru_cache(maxsize=32)
def _runner(cfg: RunConfig, what: str):
    return runner(PREDICTORS[what](cfg))


def per_seed(models: eqx.Module, tasks: dict, run, chunk: int) -> np.ndarray:
    """run(models, chunk of tasks) over all tasks, concatenated: [S, E, ...]."""
    return np.concatenate([np.asarray(run(models, c)) for c in _chunks(tasks, chunk)], axis=1)


def scored_risks(task, pred: np.ndarray, truth, params: dict) -> dict[str, np.ndarray]:
    """Per-task risks of predictions [S, E, n+1, K, ...] for the risk queries (truths [E, K, ...]), {name:
    [S, E, n+1]} named for ICL (icl_risk, icl_risk_max, and per secondary metric icl_risk_kl, ...)."""
    risks = task.risk_summary(np.asarray(task.error(pred, truth[None, :, None])), params)  # errors [S, E, n+1, K]
    for suffix, other in task.secondary(pred, truth[None, :, None]).items():
        risks |= {f"{k}_{suffix}": v for k, v in task.risk_summary(np.asarray(other), params).items()}
    return risks


def _risk(cfg: RunConfig, models: eqx.Module, tasks: dict, queries, truth, params: dict):
    """Per-task risk of the in-context predictor at every N on the risk tasks, {name: [S, E_risk, n+1]} (see the
    module docstring), and its predictions for the queries [S, E_risk, n+1, K, ...]."""
    task = cfg.task
    run = cached_runner(cfg, "many")
    out = task.prediction(per_seed(models, tasks | {"queries": queries}, run, cfg.eval.risk_chunk))
    return scored_risks(task, out, truth, params), out


def _references(cfg: RunConfig, tasks: dict, queries, truth, params: dict, family: int) -> dict[str, np.ndarray]:
    """The task's reference learners' per-task risks {<learner>_risk...: [E_risk, n+1]}, scored as ICL's on the
    same tasks and queries (Task.reference_predictions)."""
    task_keys = jax.random.split(eval_key(cfg, family, Curve.REFERENCES), len(truth))
    run = task_program(cfg, "references")
    inputs = {"tasks": tasks, "queries": queries, "keys": task_keys}
    preds = map_tasks(lambda p: run(p["tasks"], p["queries"], p["keys"]), inputs, cfg.eval.chunk)
    out = {}
    for name, pred in preds.items():  # named after ICL's: icl_risk -> bayes_risk, icl_risk_max -> ...
        risks = scored_risks(cfg.task, pred[None], truth, params)
        out |= {learner(name, k): v[0] for k, v in risks.items()}
    return out


TASK_PROGRAMS = {  # the task's own evaluation methods, traced once per config
    "baselines": lambda task, ev: lambda tasks, keys, pool: task.baselines(tasks, keys, ev, pool),
    "references": lambda task, ev: lambda tasks, queries, keys: task.reference_predictions(tasks, queries, keys, ev),
}


def task_program(cfg: RunConfig, what: str):
    """The task's baselines or reference predictions as one jitted program, shared by every curve and chunk."""
    return _task_program(programs(cfg), what)


@functools.lru_cache(maxsize=32)
def _task_program(cfg: RunConfig, what: str):
    return jax.jit(TASK_PROGRAMS[what](cfg.task, cfg.eval))


@functools.lru_cache(maxsize=32)
def finetune_runner(cfg: RunConfig):
    """A jitted map of finetune_outputs over seeds' models and a chunk of jobs -- a task, and for each seed a
    learning rate per N [S, J, G] -- : [S, J, C, G, K, ...]. Validation (every task at every learning rate) and the
    evaluated tasks (each at its chosen rates) are both chunks of eval.finetune_chunk jobs: one compiled program."""

    def one(m, t, lrs):
        return finetune_outputs(cfg, m, t, t["queries"], lrs)

    @eqx.filter_jit
    def run(ms, part, lrs):
        return eqx.filter_vmap(lambda m, lr: jax.vmap(lambda t, r: one(m, t, r))(part, lr))(ms, lrs)

    return run


def _tuned(cfg: RunConfig, models, tasks: dict, queries, truth, params: dict, lrs: np.ndarray):
    """Fine-tuned predictions [S, J, C, G, K, ...] and their per-task risks {name: [S, J, C, G]}: job j is task j
    fine-tuned by seed s's model with the learning rates lrs[s, j] [G]. The last chunk is padded with copies of
    the last job (dropped) so that every call has one shape."""
    task, run = cfg.task, finetune_runner(programs(cfg))
    size = cfg.eval.finetune_chunk
    # each job's learning rates travel with it ([J, S, G]), padded and chunked like its task
    jobs = _padded(tasks | {"queries": queries, "lrs": np.swapaxes(lrs, 0, 1)}, size)
    parts = []
    for part in _chunks(jobs, size):
        rates = jnp.asarray(np.swapaxes(part.pop("lrs"), 0, 1))  # [S, chunk, G]
        parts.append(np.asarray(run(models, part, rates)))
    pred = task.prediction(np.concatenate(parts, axis=1)[:, : len(truth)])
    S, J, C, G = pred.shape[:4]
    errors = np.asarray(task.error(pred, truth[None, :, None, None]))  # [S, J, C, G, K]
    flat = task.risk_summary(errors.reshape(S, J, C * G, -1), params)
    return pred, {k: v.reshape(S, J, C, G) for k, v in flat.items()}


def _finetune(cfg: RunConfig, models, tasks: dict, queries, truth, params: dict, family: int, icl_pred):
    """The fine-tuned model's per-task risk on the first finetune_tasks risk tasks and the same queries as ICL's
    ({'finetune_risk', ...: [S, E_ft, G]}, and 'icl_vs_finetune' when ICL's predictions are given), with each
    (seed, N)'s learning rate and steps chosen on validation tasks (simulations.finetune); and the choices."""
    task, ev = cfg.task, cfg.eval
    lrs = np.asarray(ev.finetune_lrs, dtype=np.float32)
    S, G, L, steps = cfg.train.seeds, len(grid(task.n_max)), len(lrs), checkpoints(ev.finetune_steps)
    V = ev.finetune_validation
    val = eval_tasks(cfg, family, V, branch=Curve.VALIDATION)
    vq, vtruth = task.risk_queries(val, eval_key(cfg, family, Curve.VALIDATION_QUERIES), ev)
    every = np.broadcast_to(np.tile(lrs, V)[None, :, None], (S, V * L, G))  # job v L + l: task v, rate l
    repeat = functools.partial(np.repeat, repeats=L, axis=0)
    val_jobs = {k: repeat(np.asarray(v)) for k, v in val.items()}
    _, val_risk = _tuned(cfg, models, val_jobs, repeat(np.asarray(vq)), repeat(np.asarray(vtruth)), params, every)
    score = val_risk[task.risk].reshape(S, V, L * len(steps), G).mean(1)  # [S, L * C, G]
    best = score.argmin(1)  # [S, G]
    lr_idx, step_idx = np.divmod(best, len(steps))
    n = ev.finetune_tasks
    head = {k: v[:n] for k, v in tasks.items()}
    chosen_lrs = np.broadcast_to(lrs[lr_idx][:, None, :], (S, n, G))
    pred, risks = _tuned(cfg, models, head, queries[:n], truth[:n], params, chosen_lrs)
    pick = step_idx[:, None, None, :]  # [S, 1, 1, G]: the chosen checkpoint of each (seed, N)
    out = {finetuned(k): np.take_along_axis(v, pick, axis=2)[:, :, 0] for k, v in risks.items()}
    if icl_pred is not None:
        tuned = np.take_along_axis(pred, pick.reshape(S, 1, 1, G, *([1] * (pred.ndim - 4))), axis=2)[:, :, 0]
        g = grid(task.n_max)
        apart = np.asarray(task.disagreement(icl_pred[:, :n][:, :, g], tuned))  # [S, E_ft, G, K]
        out[VERSUS] = task.risk_summary(apart, params)[task.risk]
    chosen = {
        "n_examples": grid(task.n_max),
        "lr": [[ev.finetune_lrs[i] for i in row] for row in lr_idx],  # [seed][N], as written in the config
        "steps": np.asarray(steps)[step_idx].tolist(),
    }
    return out, chosen


def pool_tasks(cfg: RunConfig, family: int) -> dict | None:
    """The pretraining pool's tasks of one curve (their latent parameters are what a pool baseline needs)."""
    if cfg.task.pool is None:
        return None
    latent = pool_keys(cfg)
    key = jax.random.PRNGKey(0)  # the examples are not used
    return jax.vmap(lambda lk: cfg.task.sample(key, jnp.asarray(family), lk))(latent)


def _errors(cfg: RunConfig, models, tasks, family: int) -> dict[str, np.ndarray]:
    """Errors of ICL, the baselines and the exact expected errors on one curve's tasks."""
    task = cfg.task
    truth = task.truth(tasks)
    icl = task.prediction(per_seed(models, tasks, cached_runner(cfg, "icl"), cfg.eval.chunk))  # [S, E, n+1, ...]
    out = {"icl": np.asarray(task.error(icl, truth[None]))}
    out |= {f"icl_{suffix}": np.asarray(e) for suffix, e in task.secondary(icl, truth[None]).items()}
    task_keys = jax.random.split(eval_key(cfg, family, Curve.BASELINES), len(truth))
    run, pool = task_program(cfg, "baselines"), pool_tasks(cfg, family)
    inputs = {"tasks": tasks, "keys": task_keys}
    baselines = map_tasks(lambda p: run(p["tasks"], p["keys"], pool), inputs, cfg.eval.chunk)
    for name, pred in baselines.items():
        out[name] = np.asarray(task.error(pred, truth))
        if name in task.references:
            out |= {f"{name}_{suffix}": np.asarray(e) for suffix, e in task.secondary(pred, truth).items()}
        if name in task.compared:  # ICL's distance to this baseline's predictions, in the task's error
            out[compared(name)] = np.asarray(task.error(icl, pred[None]))
    return out | {name: np.asarray(v) for name, v in task.expected_errors(tasks).items()}


def evaluate(
    cfg: RunConfig,
    models: eqx.Module,
    *,
    progress: bool = True,
    store: Path | None = None,
    halfway: eqx.Module | None = None,
) -> tuple[list[dict], Errors]:
    """One curve per task-parameter value: {'params': ..., 'methods': {name: {mean, ci_low, ci_high}}}, and the
    per-unit errors behind them (simulations.records.Errors: keyed 'd=4/icl', [seeds, tasks, N] for the model,
    [tasks, N] for baselines, [seeds, finetune_tasks, G] for fine-tuning; for fits that resample seeds and tasks).

    With `store` (a directory) each finished curve is written there (curve-<i>.npz, atomically) and a curve found
    there is read instead of recomputed: an evaluation killed midway resumes with the same results (every curve
    depends only on the config, the models and its own keys). With `halfway` (the models at half the training
    budget) the per-task risks of the in-context predictor are also measured for them, on the same tasks and
    queries, named 'halfway_risk', ... (for the training-budget check of the rate verdicts)."""
    curves, by_curve = [], {}
    stored = {} if store is None else stored_curves(store)
    for family, params in enumerate(tqdm(cfg.task.curves, desc="evaluate", disable=None if progress else True)):
        path = None if store is None else store / f"curve-{family}.npz"
        if family in stored:
            curve, raw = _load_curve(path)
        else:
            curve, raw = _curve(cfg, models, family, params, halfway)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                buffer = io.BytesIO()
                np.savez_compressed(buffer, **raw, **{CURVE: np.asarray(json.dumps(curve))})
                write_checked(path, buffer.getvalue())  # with its checksum: a damaged copy is recomputed
        curves.append(curve)
        by_curve[curve_key(params)] = raw
    return curves, Errors.of_curves(by_curve)


CURVE = "__curve__"  # the entry of a stored curve's npz that holds its summary (JSON)


def stored_curves(store: Path) -> dict[int, Path]:
    """The curves a previous, interrupted evaluation finished in `store`: {curve index: its file}."""
    return {int(p.stem.removeprefix("curve-")): p for p in sorted(store.glob("curve-*.npz"))}


def damaged_curves(store: Path) -> list[str]:
    """Remove the stored curves whose checksum does not match (they are recomputed); a warning for each."""
    warnings = []
    for path in stored_curves(store).values():
        try:
            read_checked(path)
        except DamagedFile as err:
            path.unlink()
            warnings.append(f"{err}: recomputed")
    return warnings


def _load_curve(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(read_checked(path)) as npz:
        raw = {k: npz[k] for k in npz.files if k != CURVE}
        return json.loads(str(npz[CURVE])), raw


def _curve(
    cfg: RunConfig, models: eqx.Module, family: int, params: dict, halfway: eqx.Module | None = None
) -> tuple[dict, dict[str, np.ndarray]]:
    """One curve's summary and its per-unit errors {method: array}."""
    task, ev = cfg.task, cfg.eval
    tasks = eval_tasks(cfg, family, ev.tasks)
    raw = _errors(cfg, models, tasks, family)
    # ICL's distances to baselines go last: each method's bootstrap seed is its position (below), which must not
    # move for the methods stored before them
    distances = {name: raw.pop(name) for name in list(raw) if name.startswith(COMPARED)}
    risk_tasks = {k: v[: ev.risk_tasks] for k, v in tasks.items()}
    queries, truth = task.risk_queries(risk_tasks, eval_key(cfg, family, Curve.RISK_QUERIES), ev)
    raw |= _references(cfg, risk_tasks, queries, truth, params, family)
    icl_pred = None
    if cfg.model.attention == "causal":
        risks, icl_pred = _risk(cfg, models, risk_tasks, queries, truth, params)
        raw |= risks
        if halfway is not None:  # the same risks at half the training budget: halfway_risk, halfway_risk_max, ...
            early, _ = _risk(cfg, halfway, risk_tasks, queries, truth, params)
            raw |= {records.halfway(k): v for k, v in early.items()}
    tuned, chosen = {}, None
    if ev.finetune_tasks:
        tuned, chosen = _finetune(cfg, models, risk_tasks, queries, truth, params, family, icl_pred)
    raw |= tuned | distances
    methods = {}
    for i, (name, values) in enumerate(raw.items()):
        summary = summarize(values, seed=cfg.seed * 1000 + family * 100 + i, resamples=ev.bootstrap)
        if name in tuned:  # evaluated on finetune.grid(n_max)
            summary = {"n_examples": grid(task.n_max)} | summary
        metric = records.metric(name, task.secondary_metrics)
        if metric is not None:
            summary["metric"] = metric
        methods[name] = summary
    curve = {"params": params, "methods": methods} | ({"finetune_settings": chosen} if chosen else {})
    return curve, {name: np.asarray(values, dtype=np.float32) for name, values in raw.items()}
