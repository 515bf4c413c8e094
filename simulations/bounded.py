"""Bounded-context experiments on trained runs: retrieval vs random selection, and one fixed context.

Window (tokens run). A task has m contexts over V tokens and a dataset of `data` examples; the query is a fresh
context c_q. The dataset is reordered by a selection policy (simulations.context) and its first k examples, for
every window k = 0..n_max at once, form the prompt; the model is asked c_q after each prefix
(problem.predict_many) and scored by TV(predicted law, p(.|c_q)). Without retrieval a window of k holds about
k/m examples of c_q, so the window needed grows like m; with retrieval it holds min(k, #matches) of them, so it
should not grow with m (the reading of paper.text-generation-bounded).

Fixed context (classification run). The first n_max examples of a task fix one in-context predictor f. Its true
error is estimated on `truth` fresh queries; `holdout` further queries give the empirical errors from which the
verdicts take the error estimate on any n <= holdout examples (the reading of paper.linear-classification-fixed:
|empirical - true| error of one fixed predictor, Hoeffding).
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from simulations import context, problem, prompts, records
from simulations.config import RunConfig
from simulations.evaluate import cached_runner, per_seed, runner
from simulations.keys import Bounded, bounded_key
from simulations.tasks import tokens
from simulations.tasks.classification import zero_one
from simulations.tasks.tokens import tv
from theory.errors import InputError


@dataclass(frozen=True)
class WindowConfig:
    ms: tuple[int, ...] = (1, 2, 4)  # numbers of contexts (each <= the run's largest m)
    V: int = 4
    data: int = 256  # dataset size per task, cut to the window by the policy
    tasks: int = 256
    policies: tuple[str, ...] = ("random", "retrieval")


@dataclass(frozen=True)
class FixedConfig:
    tasks: int = 128
    holdout: int = 512  # queries whose 0-1 outcomes give the empirical error on any n <= holdout
    truth: int = 2048  # fresh queries that estimate the true error


def window_errors(cfg: RunConfig, models: eqx.Module, wc: WindowConfig) -> dict[str, np.ndarray]:
    """TV at the query context after each window k = 0..n_max: {'m=2/retrieval': [seeds, tasks, n_max + 1]}.

    Per m, `wc.tasks` fresh tasks with `wc.data` examples plus a query context each; per policy the dataset is
    reordered (context.order) and the model reads the query after every prefix k of it. Tasks and policy draws
    come from branches of the run's evaluation key (simulations.keys), disjoint from evaluate's, so they are
    reproducible from cfg.

    Args:
        cfg: a finished tokens run's config (its m_max and V_max bound the experiment's m and V; n_max sets the
            largest window, in examples; task.alpha the tasks' prior).
        models: its trained models, one per seed (stacked on a leading seed axis S).
        wc: the experiment: numbers of contexts `ms` (each <= m_max), vocabulary `V` (<= V_max), dataset size
            `data` (>= n_max: the prompt is its first n_max examples in policy order), `tasks` per m and
            `policies` (names in context.POLICIES).

    Returns:
        {'m=<m>/<policy>': TV errors, float32 [S, tasks, n_max + 1] in [0, 1]} for every m and policy; column k is
        the window of k examples.

    Raises:
        InputError: an m or V larger than the run's, or a policy not in context.POLICIES.
    """
    m_max, v_max = cfg.task.m_max, cfg.task.V_max
    if max(wc.ms) > m_max or wc.V > v_max:
        raise InputError(f"window experiment needs m <= {m_max} and V <= {v_max} (the run's largest); got {wc}")
    n = cfg.task.n_max
    out = {}
    for i, m in enumerate(wc.ms):
        ks = jax.random.split(jax.random.fold_in(bounded_key(cfg, Bounded.WINDOW_TASKS), i), wc.tasks)
        data = jax.vmap(lambda k, m=m: tokens.sample(k, m, wc.V, m_max, v_max, wc.data, cfg.task.alpha))(ks)
        for j, policy in enumerate(wc.policies):
            pkeys = jax.random.split(jax.random.fold_in(bounded_key(cfg, Bounded.WINDOW_POLICY + j), i), wc.tasks)

            def prompt(task, key, policy=policy):
                c, t, c_q = task["c"][:-1], task["t"][:-1], task["c"][-1]
                idx = context.order(policy, key, c, c_q)[:n]
                cq, tq = jnp.append(c[idx], c_q), jnp.append(t[idx], 0)  # the final slot is never read
                return prompts.tokens(cq, tq, m_max, v_max), prompts.tokens_queries(c_q[None], m_max, v_max)

            features, queries = jax.vmap(prompt)(data, pkeys)
            batch = {"features": features, "queries": queries, "active": jnp.full(wc.tasks, wc.V)}
            logp = per_seed(models, batch, cached_runner(cfg, "many"), chunk=32)  # [S, E, n+1, 1, V_max]
            truth = jnp.take_along_axis(data["probs"], data["c"][:, -1, None, None], axis=1)  # [E, 1, V_max]
            out[records.key({"m": m}, policy)] = np.asarray(tv(np.exp(logp[:, :, :, 0]), truth[None]), dtype=np.float32)
    return out


def fixed_context(cfg: RunConfig, models: eqx.Module, fc: FixedConfig) -> dict[str, np.ndarray]:
    """Errors of the in-context predictor fixed by a task's first n_max examples, on held-out and fresh queries.

    For each task of the largest d: 0-1 outcomes on `holdout` queries [S, E, holdout] and the true-error
    estimate on `truth` queries [S, E], of the predictor fixed by the task's first n_max examples. Queries are
    standard Gaussian in d_max dimensions, labelled `sign(x . w)` (+1 at 0) by the task's halfspace w; tasks and
    queries come from branches of the run's evaluation key (simulations.keys), disjoint from evaluate's.

    Args:
        cfg: a finished classification run's config (its largest d in task.dims and task.n_max are used).
        models: its trained models, one per seed (stacked on a leading seed axis S).
        fc: the experiment: E = `tasks` tasks, `holdout` queries and `truth` queries per task (each >= 1).

    Returns:
        {'holdout': 0-1 outcomes, float32 [S, E, holdout] (1: misclassified), 'true_error': the mean 0-1 error
        on the `truth` queries, [S, E]}.
    """
    d_max = max(cfg.task.dims)
    family = cfg.task.dims.index(d_max)
    ks = jax.random.split(bounded_key(cfg, Bounded.FIXED_TASKS), fc.tasks)
    tasks = jax.vmap(lambda k: problem.sample_task(cfg, k, jnp.asarray(family)))(ks)
    count = fc.holdout + fc.truth
    x = jax.random.normal(bounded_key(cfg, Bounded.FIXED_INPUTS), (fc.tasks, count, d_max))
    truth = jnp.where(jnp.einsum("ekd,ed->ek", x, tasks["w"]) >= 0, 1.0, -1.0)
    batch = {"features": tasks["features"], "active": tasks["active"], "x": x}
    n = cfg.task.n_max

    def at_full_context(mdl, b):
        q = prompts.vector_queries(b["x"])
        return problem.predict_many(cfg, mdl, b["features"], b["active"], q, prefixes=[n])[0]

    pred = np.sign(per_seed(models, batch, runner(at_full_context), chunk=8))  # [S, E, count]
    wrong = np.asarray(zero_one(pred, truth[None]))
    return {"holdout": wrong[..., : fc.holdout].astype(np.float32), "true_error": wrong[..., fc.holdout :].mean(-1)}
