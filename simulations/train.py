"""Meta-training: fresh tasks every step, several seeds at once, atomic checkpoints, automatic resume.

Batch s of seed i is drawn from fold_in(train_key_i, s), so a run's data depend only on (seed, step): a run that
is killed and restarted replays exactly the batches it would have seen. Steps run in jitted chunks
(`lax.scan`), with the seeds stacked and trained together by `vmap`.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from simulations import problem
from simulations.config import RunConfig


class TrainingDiverged(RuntimeError):
    """A non-finite loss: training stopped, the last good checkpoint is kept."""


@dataclass
class TrainState:
    models: eqx.Module  # stacked over seeds (leading axis)
    opt_states: optax.OptState
    step: int
    losses: np.ndarray  # [steps, seeds]


def keys(cfg: RunConfig) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-seed (init, train) keys [seeds, 2] and the evaluation key, from disjoint branches of the run seed."""
    root = jax.random.PRNGKey(cfg.seed)
    k_init, k_train, k_eval = jax.random.split(root, 3)
    seeds = cfg.train.seeds
    return jax.random.split(k_init, seeds), jax.random.split(k_train, seeds), k_eval


def optimizer(cfg: RunConfig) -> optax.GradientTransformation:
    t = cfg.train
    schedule = optax.warmup_cosine_decay_schedule(0.0, t.lr, t.warmup, max(t.steps, t.warmup + 1), t.lr * 0.01)
    return optax.chain(optax.clip_by_global_norm(t.clip), optax.adamw(schedule, weight_decay=t.weight_decay))


def init_state(cfg: RunConfig) -> TrainState:
    init_keys, _, _ = keys(cfg)
    models = eqx.filter_vmap(lambda k: problem.init_model(cfg, k))(init_keys)
    opt = optimizer(cfg)
    opt_states = eqx.filter_vmap(lambda m: opt.init(eqx.filter(m, eqx.is_array)))(models)
    return TrainState(models, opt_states, 0, np.zeros((cfg.train.steps, cfg.train.seeds), np.float32))


def n_families(cfg: RunConfig, step: jax.Array) -> jax.Array:
    """Families available at `step`: all of them, or with the curriculum a prefix growing over the first half
    of training (dims or families are ordered from easy to hard in the config)."""
    total = len(cfg.task.curves)
    if not cfg.train.curriculum:
        return jnp.asarray(total)
    frac = jnp.minimum(1.0, (step + 1) / (0.5 * cfg.train.steps))
    return jnp.maximum(1, jnp.ceil(frac * total)).astype(jnp.int32)


def make_chunk(cfg: RunConfig, length: int):
    """A jitted function running `length` steps for all seeds: (params, opt_states, train_keys, start) -> ..."""
    opt = optimizer(cfg)

    def one_seed(model, opt_state, train_key, step):
        key = jax.random.fold_in(train_key, step)
        k_batch, k_loss = jax.random.split(key)
        batch = problem.sample_batch(cfg, k_batch, cfg.train.batch, n_families(cfg, step))
        value, grads = eqx.filter_value_and_grad(lambda mdl: problem.loss(cfg, mdl, batch, k_loss))(model)
        updates, opt_state = opt.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, value

    @eqx.filter_jit
    def chunk(models, opt_states, train_keys, start):
        params, static = eqx.partition(models, eqx.is_array)

        def body(carry, step):
            p, o = carry
            m = eqx.combine(p, static)
            m, o, losses = eqx.filter_vmap(one_seed, in_axes=(0, 0, 0, None))(m, o, train_keys, step)
            return (eqx.filter(m, eqx.is_array), o), losses

        (params, opt_states), losses = jax.lax.scan(body, (params, opt_states), start + jnp.arange(length))
        return eqx.combine(params, static), opt_states, losses

    return chunk


# ---- checkpoints -------------------------------------------------------------------------------------------------
def save(path: Path, state: TrainState) -> None:
    """Write the state atomically: a temporary file in the same directory, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ckpt-")
    try:
        with os.fdopen(fd, "wb") as f:
            tree = (state.models, state.opt_states, jnp.asarray(state.step), jnp.asarray(state.losses))
            eqx.tree_serialise_leaves(f, tree)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path, template: TrainState) -> TrainState:
    like = (template.models, template.opt_states, jnp.asarray(0), jnp.asarray(template.losses))
    models, opt_states, step, losses = eqx.tree_deserialise_leaves(path, like)
    return TrainState(models, opt_states, int(step), np.asarray(losses))


def train(cfg: RunConfig, checkpoint: Path | None = None, *, progress: bool = True, chunk: int = 50) -> TrainState:
    """Train cfg.train.seeds models together; resume from `checkpoint` if it exists; save every checkpoint_every.

    Raises TrainingDiverged on a non-finite loss, leaving the last good checkpoint in place.
    """
    state = init_state(cfg)
    if checkpoint is not None and checkpoint.exists():
        state = load(checkpoint, state)
    _, train_keys, _ = keys(cfg)
    total = cfg.train.steps
    every = cfg.train.checkpoint_every
    length = math.gcd(chunk, every) if every else chunk
    runner = make_chunk(cfg, length)
    bar = tqdm(total=total, initial=state.step, desc=f"train {cfg.task.kind}", disable=not progress, unit="step")
    while state.step < total:
        n = min(length, total - state.step)
        step_fn = runner if n == length else make_chunk(cfg, n)
        models, opt_states, losses = step_fn(state.models, state.opt_states, train_keys, state.step)
        losses = np.asarray(losses)
        if not np.all(np.isfinite(losses)):
            bad = state.step + int(np.argmax(~np.isfinite(losses).all(axis=1)))
            where = f"; the last good checkpoint is kept at {checkpoint}" if checkpoint else ""
            raise TrainingDiverged(f"non-finite loss at step {bad}: training stopped{where}")
        state.losses[state.step : state.step + n] = losses
        state = TrainState(models, opt_states, state.step + n, state.losses)
        bar.update(n)
        bar.set_postfix(loss=f"{losses[-1].mean():.4f}")
        if checkpoint is not None and (state.step % every == 0 or state.step == total):
            save(checkpoint, state)
    bar.close()
    return state
