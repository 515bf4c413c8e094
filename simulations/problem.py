"""Task glue: batches of encoded prompts, the training loss, and predictions for every prefix length N.

Everything here is a pure function of its arguments (jit- and vmap-safe); `RunConfig` supplies the shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from simulations import prompts
from simulations.config import RunConfig
from simulations.model import Transformer
from simulations.tasks import classification, tokens


def dims(cfg: RunConfig) -> tuple[int, int, int]:
    """(input feature size, output size, sequence length) for this task."""
    t = cfg.task
    length = 2 * t.n_max + 1
    if t.kind == "classification":
        return max(t.dims) + 3, 1, length
    m_max, v_max = _maxima(cfg)
    return m_max + v_max + 2, v_max, length


def _maxima(cfg: RunConfig) -> tuple[int, int]:
    return max(m for m, _ in cfg.task.families), max(v for _, v in cfg.task.families)


def init_model(cfg: RunConfig, key: jax.Array) -> Transformer:
    in_dim, out_dim, length = dims(cfg)
    return Transformer(cfg.model, in_dim, out_dim, length, key)


def sample_task(cfg: RunConfig, key: jax.Array, family: jax.Array) -> dict[str, jax.Array]:
    """One task of family index `family` (into dims or families) with n_max + 1 examples, and its prompt."""
    t = cfg.task
    if t.kind == "classification":
        d = jnp.asarray(t.dims)[family]
        task = classification.sample(key, d, max(t.dims), t.n_max, t.label_noise)
        return task | {"features": prompts.classification(task["x"], task["y"]), "active": d}
    m_max, v_max = _maxima(cfg)
    fam = jnp.asarray(t.families)[family]
    task = tokens.sample(key, fam[0], fam[1], m_max, v_max, t.n_max, t.alpha)
    return task | {"features": prompts.tokens(task["c"], task["t"], m_max, v_max), "active": fam[1]}


def sample_batch(cfg: RunConfig, key: jax.Array, batch: int, n_families: jax.Array | int) -> dict[str, jax.Array]:
    """A batch of fresh tasks, each from a family drawn uniformly among the first `n_families`."""
    kf, kt = jax.random.split(key)
    families = jax.random.randint(kf, (batch,), 0, n_families)
    return jax.vmap(lambda k, f: sample_task(cfg, k, f))(jax.random.split(kt, batch), families)


def predict(cfg: RunConfig, model: Transformer, features: jax.Array, active: jax.Array) -> jax.Array:
    """Raw outputs at q_0..q_n: [n+1] logits (classification) or [n+1, V_max] log-probabilities (tokens).

    Causal models read every prefix from one pass; bidirectional ones run one masked pass per N.
    """
    length = features.shape[0]
    n = (length - 1) // 2
    if cfg.model.attention == "causal":
        out = model(features, prompts.causal_mask(length))[prompts.query_positions(n)]
    else:
        out = jax.vmap(lambda k: model(features, prompts.bidirectional_mask(length, k))[2 * k])(jnp.arange(n + 1))
    return readout(cfg, out, active)


def predict_many(
    cfg: RunConfig,
    model: Transformer,
    features: jax.Array,
    active: jax.Array,
    queries: jax.Array,
    group: int = 4,
    prefixes: Sequence[int] | None = None,
) -> jax.Array:
    """Outputs for k extra query tokens after each prefix (default every N = 0..n): [P, k] logits or
    [P, k, V_max] log-probabilities, P the number of prefixes.

    Causal models only (the extra queries rely on one causal pass; see prompts.many_queries). Queries go in
    groups of `group` per pass: attention cost grows with the square of the sequence, so short passes are cheaper.
    """
    if cfg.model.attention != "causal":
        raise ValueError("per-task risk needs attention='causal' (bidirectional models run one pass per N)")
    n = (features.shape[0] - 1) // 2
    count = n + 1 if prefixes is None else len(prefixes)
    k = queries.shape[0]
    group = math.gcd(k, group)

    def one(part):
        seq, mask, positions = prompts.many_queries(features, part, prefixes)
        out = model(seq, mask, positions)[2 * n :]
        return out.reshape(count, group, *out.shape[1:])

    out = jax.vmap(one)(queries.reshape(k // group, group, -1))  # [G, P, group, ...]
    out = jnp.moveaxis(out, 0, 1).reshape(count, k, *out.shape[3:])
    return readout(cfg, out, active)


def readout(cfg: RunConfig, out: jax.Array, active: jax.Array) -> jax.Array:
    """Raw model outputs [..., out_dim] -> a logit (classification) or log-probabilities over the active tokens."""
    if cfg.task.kind == "classification":
        return out[..., 0]
    mask = jnp.arange(out.shape[-1]) < active
    return jax.nn.log_softmax(jnp.where(mask, out, -1e9), axis=-1)


def per_example_loss(cfg: RunConfig, out: jax.Array, target: jax.Array) -> jax.Array:
    """Logistic loss of logits against +-1 labels, or cross-entropy of log-probabilities against token ids."""
    if cfg.task.kind == "classification":
        return jax.nn.softplus(-target * out)
    return -jnp.take_along_axis(out, target[..., None], axis=-1)[..., 0]


def loss(cfg: RunConfig, model: Transformer, batch: dict[str, jax.Array], key: jax.Array) -> jax.Array:
    """Mean loss over the batch: logistic loss on labels, or cross-entropy on next tokens.

    Causal models are trained at every prefix at once; bidirectional ones at one random prefix per prompt.
    """
    n = cfg.task.n_max
    if cfg.model.attention == "causal":
        out = jax.vmap(lambda f, a: predict(cfg, model, f, a))(batch["features"], batch["active"])
        weights = jnp.ones((out.shape[0], n + 1))
    else:
        ks = jax.random.randint(key, (batch["features"].shape[0],), 0, n + 1)

        def one(f, a, k):
            length = f.shape[0]
            o = model(f, prompts.bidirectional_mask(length, k))
            raw = jnp.zeros((n + 1, *o.shape[1:])).at[k].set(o[2 * k])
            return readout(cfg, raw, a)

        out = jax.vmap(one)(batch["features"], batch["active"], ks)
        weights = jax.nn.one_hot(ks, n + 1)
    target = batch["y"] if cfg.task.kind == "classification" else batch["t"]
    per = per_example_loss(cfg, out, target)
    return (per * weights).sum() / weights.sum()
