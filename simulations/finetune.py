"""The fine-tuned comparison: the paper's question is whether in-context learning matches fine-tuning.

For one task and its first N examples we start from the meta-trained weights and take `steps` Adam steps on
those N examples presented without demonstrations -- each as a prompt holding its query token alone -- then
predict the query N from a query-only prompt. N = 0 is the meta-trained model itself with no
demonstrations, which is also ICL at N = 0. Fine-tuning costs one training run per (task, N), so it is
evaluated on the geometric grid N in {0, 1, 2, 4, ..., n_max} (`grid`), vmapped over tasks and grid points.
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
    """The prefix lengths at which fine-tuning is evaluated: 0, powers of two below n_max, and n_max."""
    return sorted({0, n_max} | {2**k for k in range(n_max.bit_length()) if 2**k <= n_max})


def finetune_predictions(cfg: RunConfig, model: Transformer, task: dict[str, jax.Array]) -> jax.Array:
    """The task's outputs at each N in grid(n) after fine-tuning on examples 0..N-1."""
    n = cfg.task.n_max
    queries = task["features"][0::2]  # q_0..q_n: each example's query token
    target = task["target"]
    opt = optax.adam(cfg.eval.finetune_lr)
    params, static = eqx.partition(model, eqx.is_array)

    def loss(p, mask):
        mdl = eqx.combine(p, static)
        outs = jax.vmap(lambda q: _single(cfg, mdl, q, task["active"]))(queries)
        per = cfg.task.loss(outs, target)
        return jnp.sum(per * mask) / jnp.maximum(mask.sum(), 1.0)

    def tuned_prediction(N):
        mask = (jnp.arange(n + 1) < N).astype(jnp.float32)

        def step(carry, _):
            p, s = carry
            grads = jax.grad(loss)(p, mask)
            updates, s = opt.update(grads, s, p)
            return (optax.apply_updates(p, updates), s), None

        (p, _), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=cfg.eval.finetune_steps)
        return _single(cfg, eqx.combine(p, static), queries[N], task["active"])

    # no examples (N = 0): the base model is the fine-tuned model, so it is not trained at all
    base = _single(cfg, model, queries[0], task["active"])
    tuned = jax.vmap(tuned_prediction)(jnp.asarray(grid(n)[1:]))
    return jnp.concatenate([base[None], tuned])
