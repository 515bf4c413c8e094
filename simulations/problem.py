"""Task glue: batches of encoded prompts, the training loss, and predictions for every prefix length N.

Everything here is a pure function of its arguments (jit- and vmap-safe); `RunConfig` supplies the shapes.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from simulations import prompts
from simulations.config import RunConfig
from simulations.keys import pool_keys
from simulations.model import Transformer
from theory.errors import InputError


def init_model(cfg: RunConfig, key: jax.Array) -> Transformer:
    t = cfg.task
    return Transformer(cfg.model, t.feature_dim, t.out_dim, 2 * t.n_max + 1, key)


def sample_task(cfg: RunConfig, key: jax.Array, family: jax.Array) -> dict[str, jax.Array]:
    """One task of curve index `family` with n_max + 1 examples, and its prompt (Task.sample)."""
    return cfg.task.sample(key, family)


def sample_batch(cfg: RunConfig, key: jax.Array, batch: int, n_families: jax.Array | int) -> dict[str, jax.Array]:
    """A batch of fresh tasks, each from a family drawn uniformly among the first `n_families`; with a pool, each
    task's latent parameters are one of the pool's (uniformly), its examples fresh."""
    kf, kt = jax.random.split(key)
    families = jax.random.randint(kf, (batch,), 0, n_families)
    keys = jax.random.split(kt, batch)
    if cfg.task.pool is None:
        return jax.vmap(lambda k, f: sample_task(cfg, k, f))(keys, families)
    latent = pool_keys(cfg)[jax.random.randint(jax.random.fold_in(kf, 1), (batch,), 0, cfg.task.pool)]
    return jax.vmap(lambda k, f, lk: cfg.task.sample(k, f, lk))(keys, families, latent)


def bidirectional_mask(cfg: RunConfig, length: int, n_demos: jax.Array) -> jax.Array:
    """The encoder's mask for the prediction after `n_demos` examples, in the task's prompt layout."""
    return prompts.bidirectional_mask(length, n_demos, pairs=getattr(cfg.task, "pairs", False))


def predict(
    cfg: RunConfig, model: Transformer, features: jax.Array, active: jax.Array, remat: bool = False
) -> jax.Array:
    """The task's outputs (Task.readout: a logit, log-probabilities, a value) at q_0..q_n: [n+1, ...].

    Causal models read every prefix from one pass; bidirectional ones run one masked pass per N. `remat`: see
    Transformer (training's memory, not its numbers).
    """
    length = features.shape[0]
    n = (length - 1) // 2
    if cfg.model.attention == "causal":
        out = model(features, prompts.causal_mask(length), read=prompts.query_positions(n), remat=remat)
    else:

        def at(k):
            return model(features, bidirectional_mask(cfg, length, k), read=2 * k[None], remat=remat)[0]

        # eval.prefix_batch passes at a time: one pass per prefix of a 2048-token prompt would otherwise hold all
        # n + 1 passes' attention scores at once
        out = jax.lax.map(at, jnp.arange(n + 1), batch_size=min(n + 1, cfg.eval.prefix_batch))
    return cfg.task.readout(out, active)


def predict_many(
    cfg: RunConfig,
    model: Transformer,
    features: jax.Array,
    active: jax.Array,
    queries: jax.Array,
    prefixes: Sequence[int] | None = None,
) -> jax.Array:
    """The task's outputs for k extra query tokens after each prefix (default every N = 0..n): [P, k, ...],
    P the number of prefixes.

    Causal models only: the copy of a query for prefix N sees the prompt's first 2N tokens and itself, at position
    id 2N -- exactly what q_N sees in the prompt, with q_N replaced (prompts.extra_queries). The prompt's keys and
    values are computed once for all P k copies (Transformer.extended).
    """
    if cfg.model.attention != "causal":
        raise InputError("per-task risk needs attention='causal' (bidirectional models run one pass per N)")
    n = (features.shape[0] - 1) // 2
    extra, limit = prompts.extra_queries(n, queries, prefixes)
    out = model.extended(features[: 2 * n], prompts.causal_mask(2 * n), extra, limit)
    return cfg.task.readout(out.reshape(limit.shape[0] // queries.shape[0], queries.shape[0], *out.shape[1:]), active)


def trained_prefixes(
    cfg: RunConfig, key: jax.Array, batch: int, n_examples: jax.Array | int | None = None
) -> jax.Array | None:
    """Bidirectional models: the prefix N trained on each prompt of a batch, uniform on 0..n_examples (default
    n_max); None for causal models (trained at every prefix)."""
    if cfg.model.attention == "causal":
        return None
    top = cfg.task.n_max if n_examples is None else n_examples
    return jax.random.randint(key, (batch,), 0, top + 1)


def loss(
    cfg: RunConfig,
    model: Transformer,
    batch: dict[str, jax.Array],
    key: jax.Array,
    n_examples: jax.Array | int | None = None,
    remat: bool = False,
) -> jax.Array:
    """Mean of the task's loss (Task.loss) over the batch.

    Causal models are trained at every prefix N = 0..n_examples at once (default n_max; a curriculum over the
    number of examples passes fewer); bidirectional ones at one random prefix per prompt (batch["prefix"] when
    given, else trained_prefixes from `key`). Every prompt carries the same total weight, so the mean over equal
    micro-batches of their losses is the batch's loss.
    """
    n = cfg.task.n_max
    if cfg.model.attention == "causal":
        out = jax.vmap(lambda f, a: predict(cfg, model, f, a, remat))(batch["features"], batch["active"])
        weights = jnp.ones((out.shape[0], n + 1))
        if n_examples is not None:
            weights = weights * (jnp.arange(n + 1) <= n_examples)
    else:
        ks = batch.get("prefix")
        if ks is None:
            ks = trained_prefixes(cfg, key, batch["features"].shape[0], n_examples)

        def one(f, a, k):
            length = f.shape[0]
            o = model(f, bidirectional_mask(cfg, length, k), read=2 * k[None], remat=remat)[0]
            raw = jnp.zeros((n + 1, *o.shape)).at[k].set(o)
            return cfg.task.readout(raw, a)

        out = jax.vmap(one)(batch["features"], batch["active"], ks)
        weights = jax.nn.one_hot(ks, n + 1)
    per = cfg.task.loss(out, batch["target"])
    return (per * weights).sum() / weights.sum()
