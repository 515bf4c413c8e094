"""Meta-training: fresh tasks every step, several seeds at once, atomic checkpoints, automatic resume.

Batch s of seed i is drawn from fold_in(train_key_i, s), so a run's data depend only on (seed, step): a run that
is killed and restarted replays exactly the batches it would have seen. One jitted step trains all seeds,
stacked (simulations.devices: seeds, and the batch when seeds are fewer than devices, spread over a device mesh);
losses are checked for finiteness at every checkpoint.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh
from tqdm.auto import tqdm

from simulations import devices, problem
from simulations.config import RunConfig
from simulations.files import FAULT, DamagedFile, read_checked, write_checked
from simulations.keys import seed_keys


class TrainingDiverged(RuntimeError):
    """A non-finite loss: training stopped, the last good checkpoint is kept."""


@dataclass
class TrainState:
    models: eqx.Module  # stacked over seeds (leading axis)
    opt_states: optax.OptState
    step: int
    losses: np.ndarray  # [steps, seeds]
    resumed_from: int = 0  # the step this call started from (0 unless resumed from a checkpoint)
    halfway: eqx.Module | None = None  # the models at halfway(cfg) steps (host copies), once training got there
    warnings: list[str] = field(default_factory=list)  # damaged checkpoints met on resuming (for run.log)


def halfway(cfg: RunConfig) -> int:
    """The step at which the models are kept for the training-budget check: half the budget (0: none kept)."""
    return cfg.train.steps // 2


def halfway_path(checkpoint: Path) -> Path:
    """Where the halfway models are kept beside the checkpoint."""
    return checkpoint.with_name("checkpoint-half.eqx")


def _host_copy(models: eqx.Module) -> eqx.Module:
    """The models' arrays copied to host memory (the training step donates its device buffers)."""
    return jax.tree.map(lambda x: np.array(x) if eqx.is_array(x) else x, models)


def optimizer(cfg: RunConfig) -> optax.GradientTransformation:
    t = cfg.train
    schedule = optax.warmup_cosine_decay_schedule(0.0, t.lr, t.warmup, max(t.steps, t.warmup + 1), t.lr * 0.01)
    return optax.chain(optax.clip_by_global_norm(t.clip), optax.adamw(schedule, weight_decay=t.weight_decay))


def init_state(cfg: RunConfig) -> TrainState:
    init_keys, _, _ = seed_keys(cfg)
    models = eqx.filter_vmap(lambda k: problem.init_model(cfg, k))(init_keys)
    opt = optimizer(cfg)
    opt_states = eqx.filter_vmap(lambda m: opt.init(eqx.filter(m, eqx.is_array)))(models)
    return TrainState(models, opt_states, 0, np.zeros((cfg.train.steps, cfg.train.seeds), np.float32))


def n_families(cfg: RunConfig, step: jax.Array) -> jax.Array:
    """Families available at `step`: all of them, or with the curriculum a prefix growing over the first half
    of training (dims or families are ordered from easy to hard in the config: a curriculum over the active
    dimension when they are dims)."""
    total = len(cfg.task.curves)
    if not cfg.train.curriculum:
        return jnp.asarray(total)
    frac = jnp.minimum(1.0, (step + 1) / (0.5 * cfg.train.steps))
    return jnp.maximum(1, jnp.ceil(frac * total)).astype(jnp.int32)


def n_examples(cfg: RunConfig, step: jax.Array) -> jax.Array | None:
    """The largest prefix trained at `step` with the curriculum over examples (Garg et al. 2022): growing linearly
    from n_max / 4 to n_max over the first half of training; None (every prefix) without it."""
    if not cfg.train.curriculum_examples:
        return None
    n = cfg.training.task.n_max
    frac = jnp.minimum(1.0, (step + 1) / (0.5 * cfg.train.steps))
    return jnp.ceil(n * jnp.maximum(0.25, frac)).astype(jnp.int32)


CHUNK = 50  # training steps per compiled call (a loop inside it); progress and checkpoints fall between calls


def make_step(cfg: RunConfig, unroll_seeds: bool | None = None, where: Mesh | None = None):
    """The compiled training loop for all seeds: (train_keys, models, opt_states, start, length) ->
    (models, opt_states, losses [length, seeds]) for steps start .. start + length - 1.

    Steps run inside one loop per call: on XLA:CPU a call per step spent much of its time in dispatch (pytree
    flattening and waiting on the runtime; docs/performance.md), which a loop of 50 steps removes. `start` and
    `length` are traced: every stretch of up to CHUNK steps (a checkpoint or the halfway models end one early)
    runs the same compiled program, whose losses fill a buffer of CHUNK rows (a longer `length` compiles one of its
    own).

    Seeds are vmapped on accelerators (one batched kernel per operation) and unrolled on one CPU device
    (`unroll_seeds`, default: when the backend is the CPU and the mesh one device): there a program holding each
    seed's own operations ran faster than the vmapped one (docs/performance.md; XLA:CPU runs independent small
    operations concurrently; batched ones are no larger per core). Each seed computes the same numbers either way.
    On a mesh of several devices (`where`, default devices.mesh for the config) the vmapped seed axis is the
    mesh's seed axis and each batch is split along its batch axis.

    The program is kept per (config, unroll_seeds, mesh), the seed left out where it does not enter the program
    (without a finite pretraining pool, whose tasks derive from it: keys.pool_keys): runs of one process that
    differ only in their seed (a sweep's) compile it once.
    """
    where = devices.mesh(cfg.train.seeds, cfg.train.batch) if where is None else where
    if unroll_seeds is None:
        unroll_seeds = jax.default_backend() == "cpu" and where.size == 1
    key = cfg if cfg.task.pool is not None else dataclasses.replace(cfg, seed=0)
    return _step_program(key, unroll_seeds, where)


@functools.lru_cache(maxsize=16)
def _step_program(cfg: RunConfig, unroll_seeds: bool, where: Mesh):
    opt = optimizer(cfg)
    tcfg = cfg.training  # shorter prompts when training for length generalization

    def run(train_keys, models, opt_states, start, length, capacity: int):
        params, static = eqx.partition(models, eqx.is_array)
        losses = jnp.zeros((capacity, train_keys.shape[0]), jnp.float32)  # rows past `length` stay 0

        def one_seed(params, opt_state, train_key, step):
            key = jax.random.fold_in(train_key, step)
            k_batch, k_loss = jax.random.split(key)
            n_ex = n_examples(cfg, step)
            batch = problem.sample_batch(tcfg, k_batch, cfg.train.batch, n_families(cfg, step))
            prefix = problem.trained_prefixes(tcfg, k_loss, cfg.train.batch, n_ex)
            batch = devices.batch_sharded(batch if prefix is None else batch | {"prefix": prefix}, where)

            def loss(p, part):
                return problem.loss(tcfg, eqx.combine(p, static), part, k_loss, n_ex, cfg.train.remat)

            value, grads = _accumulated(jax.value_and_grad(loss), params, batch, cfg.train.micro_batches)
            updates, opt_state = opt.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, value

        if unroll_seeds:
            seeds = train_keys.shape[0]

            def body(i, state):
                carry, losses = state
                out = [one_seed(p, o, train_keys[s], start + i) for s, (p, o) in enumerate(carry)]
                value = jnp.stack([v for _, _, v in out]).astype(jnp.float32)
                return [(p, o) for p, o, _ in out], losses.at[i].set(value)

            carry = [(_index(params, i), _index(opt_states, i)) for i in range(seeds)]
            carry, losses = jax.lax.fori_loop(0, length, body, (carry, losses))
            params, opt_states = _stack([p for p, _ in carry]), _stack([o for _, o in carry])
        else:
            all_seeds = jax.vmap(one_seed, in_axes=(0, 0, 0, None), spmd_axis_name=devices.SEEDS)

            def body(i, state):
                params, opt_states, losses = state
                params, opt_states, value = all_seeds(params, opt_states, train_keys, start + i)
                return params, opt_states, losses.at[i].set(value.astype(jnp.float32))

            params, opt_states, losses = jax.lax.fori_loop(0, length, body, (params, opt_states, losses))
        return eqx.combine(params, static), opt_states, losses

    program = eqx.filter_jit(run, donate="all-except-first")  # models and optimizer states updated in place

    def step(train_keys, models, opt_states, start: jax.Array, length: int):
        capacity = max(CHUNK, length)
        models, opt_states, losses = program(train_keys, models, opt_states, start, jnp.int32(length), capacity)
        return models, opt_states, losses[:length]

    return step


def _accumulated(value_and_grad, params, batch: dict, micro_batches: int):
    """(loss, gradient) of the batch as the mean over `micro_batches` equal parts, computed one part at a time (a
    lax.scan): the same numbers up to float rounding (every prompt weighs the same in the loss), the activations
    of one part held at a time."""
    if micro_batches == 1:
        return value_and_grad(params, batch)
    parts = jax.tree.map(lambda x: x.reshape(micro_batches, x.shape[0] // micro_batches, *x.shape[1:]), batch)

    def add(total, part):
        return jax.tree.map(jnp.add, total, value_and_grad(params, part)), None

    zero = (jnp.zeros(()), jax.tree.map(jnp.zeros_like, params))
    total, _ = jax.lax.scan(add, zero, parts)
    return jax.tree.map(lambda x: x / micro_batches, total)


def _index(tree, i: int):
    return jax.tree.map(lambda x: x[i], tree)


def _stack(trees: list):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


# ---- checkpoints -------------------------------------------------------------------------------------------------
def previous_path(checkpoint: Path) -> Path:
    """Where the checkpoint before the last is kept: a damaged last checkpoint falls back to it."""
    return checkpoint.with_name(checkpoint.stem + "-previous" + checkpoint.suffix)


def save(path: Path, state: TrainState, keep_previous: bool = True) -> None:
    """Write the state atomically with its checksum (simulations.files.write_checked); the checkpoint it replaces
    is kept as `previous_path` (keep_previous)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, (state.models, state.opt_states, jnp.asarray(state.step), state.losses))
    write_checked(path, buffer.getvalue(), previous=previous_path(path) if keep_previous else None)


def load(path: Path, template: TrainState) -> TrainState:
    """A checkpoint `save` wrote, its checksum verified: DamagedFile (naming it) when it is not as written."""
    like = (template.models, template.opt_states, jnp.asarray(0), template.losses)
    models, opt_states, step, losses = eqx.tree_deserialise_leaves(read_checked(path), like)
    return TrainState(models, opt_states, int(step), np.array(losses))  # a writable copy


def resume(cfg: RunConfig, checkpoint: Path, state: TrainState) -> tuple[TrainState, eqx.Module | None, list[str]]:
    """The newest readable checkpoint (the last, else the one before) with the halfway models it needs: (state,
    halfway models or None, warnings). A damaged file is named in a warning and skipped; with none readable, or
    the halfway models damaged, training restarts from step 0 (`state`): the data depend only on (seed, step), so
    the run ends with the numbers an undamaged one has."""
    warnings, half = [], halfway(cfg)
    for path in (checkpoint, previous_path(checkpoint)):
        if not path.exists():
            continue
        try:
            loaded = load(path, state)
            kept = load(halfway_path(checkpoint), loaded).models if half and loaded.step >= half else None
        except DamagedFile as err:
            aside = path.with_name(path.name + ".damaged")  # kept for inspection, never rotated into `previous`
            os.replace(path, aside)
            warnings.append(f"{err}: not used (kept as {aside.name})")
            continue
        loaded.resumed_from = loaded.step
        if path != checkpoint:
            warnings.append(f"resumed from the checkpoint before the last, {path.name}, at step {loaded.step}")
        return loaded, kept, warnings
    if warnings:
        warnings.append("no readable checkpoint: training restarts from step 0")
    return state, None, warnings


def _fault_hook(step: int) -> None:
    """Tests of recovery only: with ICLVERIFY_FAULT=STEP:MARKER set, the first process to save a checkpoint at or
    after STEP creates the file MARKER and exits at once (status 17), as a killed worker would; a retry (MARKER
    exists) runs on. With ICLVERIFY_FAULT=preempt:STEP:MARKER it sends itself SIGUSR2 instead, the signal Slurm
    (through submitit) sends a job it preempts or is about to time out."""
    spec = os.environ.get(FAULT)
    if not spec or spec.startswith("write:"):
        return
    preempt = spec.startswith("preempt:")
    at, _, marker = spec.removeprefix("preempt:").partition(":")
    if step < int(at):
        return
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    if preempt:
        os.kill(os.getpid(), signal.SIGUSR2)  # handled at once, in this thread
        return
    os._exit(17)


def train(
    cfg: RunConfig,
    checkpoint: Path | None = None,
    *,
    progress: bool = True,
    on_losses: Callable[[int, np.ndarray], None] | None = None,
) -> TrainState:
    """Train cfg.train.seeds models together; resume from `checkpoint` if it exists; save every checkpoint_every.

    `on_losses(first_step, losses [steps, seeds])` receives each stretch of losses once it is saved (a tracker's
    hook: after a resume it sees only the steps trained since).

    The models at half the budget (`halfway`) are kept in the returned state and, with a checkpoint, beside it
    (`halfway_path`), so that a resumed run still has them; damaged checkpoints met on resuming (`resume`) are
    named in the returned state's `warnings`. Raises TrainingDiverged on a non-finite loss, leaving the
    last good checkpoint in place.
    """
    state = init_state(cfg)
    half = halfway(cfg)
    kept, warnings = None, []
    if checkpoint is not None:
        state, kept, warnings = resume(cfg, checkpoint, state)
        state.warnings = warnings
    _, train_keys, _ = seed_keys(cfg)
    where = devices.mesh(cfg.train.seeds, cfg.train.batch)
    state.models, state.opt_states = devices.by_seed((state.models, state.opt_states), where)
    train_keys = devices.by_seed(train_keys, where)
    total, every = cfg.train.steps, cfg.train.checkpoint_every
    step_fn = make_step(cfg, where=where)
    # disable=None: a bar only where a terminal is attached (tqdm's rule), so logs and pipes stay clean
    hide = None if progress else True
    bar = tqdm(total=total, initial=state.step, desc=f"train {cfg.task.kind}", disable=hide, unit="step")
    models, opt_states = state.models, state.opt_states
    while state.step < total:
        stop = min(total, (state.step // every + 1) * every)  # run to the next checkpoint, then check the losses
        if state.step < half:
            stop = min(stop, half)
        losses = []
        for begin in range(state.step, stop, CHUNK):
            length = min(CHUNK, stop - begin)
            models, opt_states, chunk = step_fn(train_keys, models, opt_states, jnp.asarray(begin), length)
            losses.append(chunk)
            bar.update(length)
        losses = np.asarray(jnp.concatenate(losses))
        if not np.all(np.isfinite(losses)):
            bad = state.step + int(np.argmax(~np.isfinite(losses).all(axis=1)))
            where = f"; the last good checkpoint is kept at {checkpoint}" if checkpoint else ""
            raise TrainingDiverged(f"non-finite loss at step {bad}: training stopped{where}")
        state.losses[state.step : stop] = losses
        state = TrainState(models, opt_states, stop, state.losses, state.resumed_from, warnings=warnings)
        bar.set_postfix(loss=f"{losses[-1].mean():.4f}")
        if stop == half:
            kept = _host_copy(models)
            if checkpoint is not None:
                save(halfway_path(checkpoint), state, keep_previous=False)
        if checkpoint is not None:
            save(checkpoint, state)
        if on_losses is not None:
            on_losses(stop - len(losses), losses)
        if checkpoint is not None:
            _fault_hook(state.step)
    bar.close()
    state.halfway = kept
    return state
