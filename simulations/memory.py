"""Device memory of a run, per stage, before running it, and the check `simulate` makes before training.

A run executes its programs one after another -- the training step, an evaluation chunk, a per-task-risk chunk, a
chunk of the task's baselines and of its reference learners, and a fine-tuning chunk -- so its peak is the largest
stage's. `programs(cfg)` traces each at its arguments' shapes (nothing is allocated, so even a run far too large
for the device can be sized). Two sizes of a stage:
- `stages(cfg)`: XLA's compiled sizes for the current backend (`memory_analysis()`: arguments + outputs +
  temporaries - donated buffers). On the CPU backend this sizes a GPU run too, up to the fused kernels a GPU
  compiler may choose instead (e.g. flash attention, which keeps less). Compiling takes seconds per stage.
- `estimates(cfg)`: the most bytes the traced program's values hold at once (`traced_bytes`), without compiling:
  an upper estimate, never below the compiled size on the presets' stages (benchmarks/memory.py; docs/gpu.md).
`check(cfg)` compares the estimate with the device's free memory and compiles only when the estimate does not fit;
a run whose compiled size does not fit either is refused (OutOfMemory) before anything is trained.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import equinox as eqx
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np

from simulations import evaluate as E
from simulations.config import RunConfig
from simulations.finetune import grid
from simulations.keys import seed_keys
from simulations.presets import DIVERSITY, LENGTH, PRESETS
from simulations.train import init_state, make_step
from theory.errors import InputError


def program_bytes(compiled) -> int:
    """Arguments + outputs + temporaries - aliased (donated) bytes of a compiled program."""
    m = compiled.memory_analysis()
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes)


def _is_array(x) -> bool:
    return isinstance(x, (jax.Array, jax.ShapeDtypeStruct, np.ndarray))


def _first(tree, n: int):
    """The first n rows of every array of a tree of shapes."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct((n, *x.shape[1:]), x.dtype), tree)


def traced(fn, *args, donate: tuple[int, ...] = ()):
    """`fn` (jax.jit or eqx.filter_jit) traced at these arguments, whose arrays may be jax.ShapeDtypeStruct:
    nothing is allocated or computed, so that a run too large for the device can still be sized. `donate`: the
    arguments the run donates (updates in place), as its own program does."""
    dynamic, static = eqx.partition(args, _is_array)
    return jax.jit(lambda *d: fn(*eqx.combine(d, static)), donate_argnums=donate).trace(*dynamic)


def programs(cfg: RunConfig) -> dict:
    """Each stage's program traced at its arguments' shapes (jax.stages.Traced; nothing allocated), in the order a
    run executes them: 'train step', 'evaluation chunk', 'risk chunk' (causal models), 'baselines chunk',
    'references chunk' and 'fine-tuning chunk' (when the run fine-tunes: eval.finetune_tasks > 0)."""
    models, opt_states = eqx.filter_eval_shape(lambda: (lambda s: (s.models, s.opt_states))(init_state(cfg)))
    _, train_keys, _ = seed_keys(cfg)
    step = make_step(cfg, unroll_seeds=False)  # as on an accelerator: seeds vmapped
    out = {"train step": traced(step, train_keys, models, opt_states, jnp.asarray(0), 1, donate=(1, 2))}
    ev = cfg.eval
    tasks = jax.eval_shape(lambda: E.eval_tasks(cfg, 0, ev.chunk))

    def queries(part):
        return jax.eval_shape(lambda t: cfg.task.risk_queries(t, jax.random.PRNGKey(0), ev)[0], part)

    out["evaluation chunk"] = traced(E.cached_runner(cfg, "icl"), models, tasks)
    risk = _first(tasks, ev.risk_chunk)
    if cfg.model.attention == "causal":
        out["risk chunk"] = traced(E.cached_runner(cfg, "many"), models, risk | {"queries": queries(risk)})
    n = min(ev.chunk, ev.tasks)  # evaluation calls the task's own programs on chunks of this many tasks
    task_keys = jax.ShapeDtypeStruct((n, 2), jnp.uint32)
    pool = jax.eval_shape(lambda: E.pool_tasks(cfg, 0))
    out["baselines chunk"] = traced(E.task_program(cfg, "baselines"), _first(tasks, n), task_keys, pool)
    part, task_keys = _first(tasks, min(ev.chunk, ev.risk_tasks)), _first(task_keys, min(ev.chunk, ev.risk_tasks))
    out["references chunk"] = traced(E.task_program(cfg, "references"), part, queries(part), task_keys)
    if ev.finetune_tasks:
        jobs = _first(risk | {"queries": queries(risk)}, ev.finetune_chunk)
        lrs = jax.ShapeDtypeStruct((cfg.train.seeds, ev.finetune_chunk, len(grid(cfg.task.n_max))), jnp.float32)
        out["fine-tuning chunk"] = traced(E.finetune_runner(E.programs(cfg)), models, jobs, lrs)
    return out


def stages(cfg: RunConfig) -> dict[str, int]:
    """Bytes of each stage's compiled program for `cfg`, as run on an accelerator (seeds vmapped).

    Args:
        cfg: the run to size (its programs are compiled for the current backend from their arguments' shapes;
            nothing is allocated or run).

    Returns:
        {stage: bytes} (arguments + outputs + temporaries - donated buffers): 'train step', 'evaluation chunk',
        'risk chunk' (causal models), 'baselines chunk', 'references chunk' and 'fine-tuning chunk' (when the run
        fine-tunes: eval.finetune_tasks > 0). The run's peak is the largest.
    """
    return {name: program_bytes(program.lower().compile()) for name, program in programs(cfg).items()}


def estimates(cfg: RunConfig) -> dict[str, int]:
    """Upper estimates of each stage's bytes (`traced_bytes`), read from its traced program without compiling."""
    return {name: traced_bytes(program) for name, program in programs(cfg).items()}


def traced_bytes(traced) -> int:
    """The most bytes a traced program's values hold at once, read from its jaxpr without compiling: its arguments
    throughout, each operation's outputs from where they are computed to their last use, and the peak of an inner
    body (a loop's, a branch's, a nested program's) while its operation runs. XLA fuses operations, so that many
    of these values never exist: an upper estimate of the compiled program's size (memory_analysis; benchmarks/memory.py
    prints both for the presets' stages)."""
    jaxpr = traced.jaxpr.jaxpr
    return sum(_nbytes(v.aval) for v in jaxpr.invars) + _peak(jaxpr)


def _peak(jaxpr) -> int:
    """The most bytes held at once by the values a jaxpr computes (its inputs not counted: the caller holds them)."""
    last = {}  # value -> index of the last operation that reads it (len(eqns): an output of the jaxpr)
    for i, eqn in enumerate(jaxpr.eqns):
        for v in eqn.invars:
            if isinstance(v, jax.extend.core.Var):
                last[v] = i
    for v in jaxpr.outvars:
        if isinstance(v, jax.extend.core.Var):
            last[v] = len(jaxpr.eqns)
    live = peak = 0
    freed: dict[int, int] = {}  # operation index -> bytes freed after it
    for i, eqn in enumerate(jaxpr.eqns):
        inner = max((_peak(body) for body in _bodies(eqn)), default=0)
        out = {v: _nbytes(v.aval) for v in eqn.outvars}
        live += sum(out.values())
        peak = max(peak, live + inner)
        for v, size in out.items():
            end = last.get(v, i)  # an output nobody reads is freed at once
            freed[end] = freed.get(end, 0) + size
        live -= freed.pop(i, 0)
    return peak


def _bodies(eqn):
    """The jaxprs inside an operation: loop and branch bodies, nested and custom-derivative programs."""
    for param in eqn.params.values():
        for sub in param if isinstance(param, (tuple, list)) else (param,):
            inner = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr's jaxpr, or a Jaxpr
            if isinstance(inner, jax.extend.core.Jaxpr):
                yield inner


def _nbytes(aval) -> int:
    shape, dtype = getattr(aval, "shape", None), getattr(aval, "dtype", None)
    if shape is None or dtype is None:  # tokens, references
        return 0
    size = 8 if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key) else np.dtype(dtype).itemsize  # threefry: 2 x u32
    return math.prod(shape) * size


class OutOfMemory(InputError):
    """A run that does not fit the device's memory: what it needs, what the device has, and the fields that lower
    it (a ValueError subclass: the command line reports it in one line, exit status 2)."""


# the fields that lower each stage's memory (beside a smaller model: model.width, model.depth, or fewer train.seeds)
KNOBS = {
    "train step": "train.micro_batches, train.remat",
    "evaluation chunk": "eval.chunk (bidirectional models: eval.prefix_batch)",
    "risk chunk": "eval.risk_chunk",
    "baselines chunk": "eval.chunk",
    "references chunk": "eval.chunk",
    "fine-tuning chunk": "eval.finetune_chunk",
}


def device_memory() -> tuple[int, str]:
    """Bytes free on the first local device and a description: an accelerator's allocator limit less what is in
    use (jax Device.memory_stats), or on the CPU the host's available memory (MemAvailable in /proc/meminfo;
    elsewhere the physical memory)."""
    dev = jax.local_devices()[0]
    stats = dev.memory_stats() or {}
    if "bytes_limit" in stats:
        return stats["bytes_limit"] - stats.get("bytes_in_use", 0), f"{dev.platform} ({dev.device_kind})"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        fields = dict(line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line)
        if "MemAvailable" in fields:
            return int(fields["MemAvailable"].split()[0]) * 1024, "cpu (the host's available memory)"
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "cpu (the host's physical memory)"


CHECK_ENV = "ICLVERIFY_MEMORY_CHECK"  # "off": simulate runs without checking (the out-of-memory net stays)


def check(cfg: RunConfig, free: int | None = None) -> str:
    """Whether `cfg` fits the device before it runs: its stages' upper estimates, and where the largest exceeds the
    free memory, their compiled sizes (`stages`). Returns a line saying what fits (for run.log).

    Args:
        cfg: the run.
        free: bytes free on the device (default: `device_memory()`).

    Raises:
        OutOfMemory: the largest stage's compiled size exceeds `free`; the one-line message names the stage, both
            sizes and the fields that lower it.
    """
    if os.environ.get(CHECK_ENV, "").lower() == "off":
        return f"memory: not checked ({CHECK_ENV}=off)"
    free, where = device_memory() if free is None else (free, "the device")
    sizes, how = estimates(cfg), "at most"
    if max(sizes.values()) > free:  # the estimate is above the compiled size: ask XLA before refusing
        sizes, how = stages(cfg), "compiled,"
    over = [stage for stage, size in sorted(sizes.items(), key=lambda kv: -kv[1]) if size > free]
    if not over:
        stage = max(sizes, key=sizes.get)
        return f"memory: {how} {fmt_gb(sizes[stage])} ({stage}); {fmt_gb(free)} free on {where}"
    raise OutOfMemory(
        f"run {cfg.hash} needs {fmt_gb(sizes[over[0]])} of device memory for its {over[0]} (compiled size; "
        f"{len(over)} of its {len(sizes)} stages exceed what is free), but {where} has {fmt_gb(free)} free: lower "
        f"it with {knobs(over)}"
    )


def knobs(stages: list[str] | None = None) -> str:
    """The fields that lower the memory of these stages (default: every stage), then a smaller model's."""
    names = KNOBS if stages is None else stages
    fields = ", ".join(dict.fromkeys(knob for stage in names for knob in KNOBS[stage].split(", ")))
    return f"{fields}, or a smaller model (model.width, model.depth) or fewer train.seeds"


# quick and standard: a laptop; full and long: one 80 GB GPU, with room
BUDGETS_GB = {"quick": 4.0, "standard": 4.0, "full": 60.0, "long": 60.0}


def preset_runs(name: str) -> dict[str, RunConfig]:
    """Every distinct run of a preset: its simulations, its length-generalization runs and one of its task-
    diversity runs, where it has them (they differ only in the pool size)."""
    runs = dict(PRESETS.get(name, {}))
    runs |= {f"length-{pos}": cfg for pos, cfg in LENGTH.get(name, {}).items() if cfg not in runs.values()}
    if name in DIVERSITY:
        label, cfg = next(iter(DIVERSITY[name].items()))
        runs[f"diversity {label}"] = cfg
    return runs


def fmt_gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"
