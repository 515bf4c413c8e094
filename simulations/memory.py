"""Device memory of a run, per stage, before running it: each stage's compiled program sized by XLA.

`stages(cfg)` compiles (never runs) the programs a run executes one after another -- the training step, an
evaluation chunk, a per-task-risk chunk, a chunk of the task's baselines and of its reference learners, and a
fine-tuning chunk -- for the current backend, and reads
XLA's `memory_analysis()` of each: arguments + outputs + temporaries - donated (aliased) buffers, in bytes. Stages
run in sequence, so a run's peak is the largest stage. On the CPU backend this sizes a GPU run too, up to the
fused kernels a GPU compiler may choose instead (e.g. flash attention, which keeps less).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simulations import evaluate as E
from simulations.config import DIVERSITY, LENGTH, PRESETS, RunConfig
from simulations.finetune import grid
from simulations.train import init_state, keys, make_step


def program_bytes(compiled) -> int:
    """Arguments + outputs + temporaries - aliased (donated) bytes of a compiled program."""
    m = compiled.memory_analysis()
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes)


def _lowered(fn, *args):
    """The XLA program of a jitted function (jax.jit or eqx.filter_jit) at these arguments, compiled."""
    lowered = fn.lower(*args)
    return getattr(lowered, "lowered", lowered).compile()


def stages(cfg: RunConfig) -> dict[str, int]:
    """Bytes of each stage's compiled program for `cfg`, as run on an accelerator (seeds vmapped).

    Args:
        cfg: the run to size (its programs are compiled for the current backend, never run; the models are only
            initialised).

    Returns:
        {stage: bytes} (arguments + outputs + temporaries - donated buffers): 'train step', 'evaluation chunk',
        'risk chunk' (causal models), 'baselines chunk', 'references chunk' and 'fine-tuning chunk' (when the run
        fine-tunes: eval.finetune_tasks > 0). The run's peak is the largest.
    """
    state = init_state(cfg)  # weights and optimizer states: tens of MB even for the full presets
    models = state.models
    _, train_keys, _ = keys(cfg)
    out = {}
    step = make_step(cfg, unroll_seeds=False)
    out["train step"] = program_bytes(_lowered(step, train_keys, models, state.opt_states, jnp.asarray(0), 1))
    tasks = E._tasks(cfg, 0, cfg.eval.chunk)
    ev = cfg.eval
    out["evaluation chunk"] = program_bytes(_lowered(E.cached_runner(cfg, "icl"), models, tasks))
    risk = {k: v[: ev.risk_chunk] for k, v in tasks.items()}
    queries, _ = cfg.task.risk_queries(risk, jax.random.PRNGKey(0), ev)
    if cfg.model.attention == "causal":
        out["risk chunk"] = program_bytes(_lowered(E.cached_runner(cfg, "many"), models, risk | {"queries": queries}))
    n = min(ev.chunk, ev.tasks)  # evaluation calls the task's own programs on chunks of this many tasks
    part, task_keys = {k: v[:n] for k, v in tasks.items()}, jax.random.split(jax.random.PRNGKey(0), n)
    baselines = E.task_program(cfg, "baselines")
    out["baselines chunk"] = program_bytes(_lowered(baselines, part, task_keys, E._pool(cfg, 0)))
    n = min(ev.chunk, ev.risk_tasks)
    part, task_keys = {k: v[:n] for k, v in tasks.items()}, task_keys[:n]
    queries_n, _ = cfg.task.risk_queries(part, jax.random.PRNGKey(0), ev)
    references = E.task_program(cfg, "references")
    out["references chunk"] = program_bytes(_lowered(references, part, queries_n, task_keys))
    if ev.finetune_tasks:
        jobs = {k: v[: ev.finetune_chunk] for k, v in risk.items()} | {"queries": queries[: ev.finetune_chunk]}
        lrs = jnp.full((cfg.train.seeds, ev.finetune_chunk, len(grid(cfg.task.n_max))), ev.finetune_lrs[0])
        out["fine-tuning chunk"] = program_bytes(_lowered(E._finetune_runner(E.programs(cfg)), models, jobs, lrs))
    return out


BUDGETS_GB = {"quick": 4.0, "full": 60.0, "long": 60.0}  # quick: a laptop; full and long: one 80 GB GPU, with room


def preset_runs(name: str) -> dict[str, RunConfig]:
    """Every distinct run of a preset: its simulations, its length-generalization runs and (full) one of the task-
    diversity runs (they differ only in the pool size)."""
    runs = dict(PRESETS.get(name, {}))
    runs |= {f"length-{pos}": cfg for pos, cfg in LENGTH.get(name, {}).items() if cfg not in runs.values()}
    if name in DIVERSITY:
        label, cfg = next(iter(DIVERSITY[name].items()))
        runs[f"diversity {label}"] = cfg
    return runs


def fmt_gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"

