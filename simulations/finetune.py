"""The fine-tuned comparison: the paper's question is whether in-context learning matches fine-tuning.

For one task and its first N examples we start from the meta-trained weights and take Adam steps on those N
examples presented without demonstrations -- each as a prompt holding its query token alone -- then predict fresh
queries (the task's risk queries, Task.risk_queries) from query-only prompts, so that the fine-tuned model has a
per-task risk like the in-context predictor's. Fine-tuning costs one training run per (task, N), so it is evaluated
on the geometric grid N in {1, 2, 4, ..., n_max} (`grid`; N = 0 would be the base model itself, not fine-tuned).

A fair opponent is tuned: for each N (and each seed's model) the learning rate and the number of steps are chosen
from a grid fixed in the config -- `finetune_lrs` x the checkpoints of one run of `finetune_steps` steps
(`checkpoints`) -- by the mean per-task risk on `finetune_validation` validation tasks, drawn apart from the
evaluated tasks; the evaluated tasks are then fine-tuned with the chosen learning rate and read at the chosen step.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from simulations.config import RunConfig
from simulations.model import Transformer


def _single(cfg: RunConfig, model: Transformer, token: jax.Array, active: jax.Array) -> jax.Array:
    """The task's output (Task.readout) for a one-token prompt."""
    return cfg.task.readout(model(token[None, :], jnp.ones((1, 1), dtype=bool))[0], active)


def grid(n_max: int) -> list[int]:
    """The numbers of examples at which fine-tuning is evaluated: powers of two below n_max, and n_max."""
    return sorted({n_max} | {2**k for k in range(n_max.bit_length()) if 2**k <= n_max})


def checkpoints(steps: int) -> list[int]:
    """The step counts read from one fine-tuning run of `steps` steps: a quarter, half and all of it."""
    return sorted({max(1, steps // 4), max(1, steps // 2), steps})


def finetune_outputs(
    cfg: RunConfig, model: Transformer, task: dict[str, jax.Array], queries: jax.Array, lrs: jax.Array
) -> jax.Array:
    """Outputs for `queries` [K, feature_dim] after fine-tuning on examples 0..N-1, for N in grid(n_max) with
    learning rate lrs[j] for the j-th N: [len(checkpoints), len(grid), K, ...]."""
    n = cfg.task.n_max
    examples = task["features"][0::2]  # q_0..q_n: each example's query token
    target = task["target"]
    params, static = eqx.partition(model, eqx.is_array)

    def loss(p, mask):
        mdl = eqx.combine(p, static)
        outs = jax.vmap(lambda q: _single(cfg, mdl, q, task["active"]))(examples)
        per = cfg.task.loss(outs, target)
        return jnp.sum(per * mask) / jnp.maximum(mask.sum(), 1.0)

    def tuned(N, lr):
        mask = (jnp.arange(n + 1) < N).astype(jnp.float32)
        opt = optax.adam(lr)

        def step(carry, _):
            p, s = carry
            grads = jax.grad(loss)(p, mask)
            updates, s = opt.update(grads, s, p)
            return (optax.apply_updates(p, updates), s), None

        carry, outs, done = (params, opt.init(params)), [], 0
        for stop in checkpoints(cfg.eval.finetune_steps):
            carry, _ = jax.lax.scan(step, carry, None, length=stop - done)
            done = stop
            mdl = eqx.combine(carry[0], static)
            outs.append(jax.vmap(lambda q, m=mdl: _single(cfg, m, q, task["active"]))(queries))
        return jnp.stack(outs)  # [C, K, ...]

    out = jax.vmap(tuned)(jnp.asarray(grid(n)), lrs)  # [G, C, K, ...]
    return jnp.swapaxes(out, 0, 1)
