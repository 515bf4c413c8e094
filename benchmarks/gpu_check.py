"""The first run on an accelerator: speed, memory and time to target on whatever device JAX sees (<= 8 minutes).

Each part runs in a process of its own, so that one part's peak memory does not hide another's:

- speed: training steps/s on the anchor task (Garg et al. 2022's setting: halfspaces, d = 8, 32 examples, one
  seed) at 6 x 128 with batch 64 and at the preset's classification model and batch (full: 6 x 256, batch 256),
  beside the PyTorch reference at the same settings on the same device when --compare-torch PY is given
  (benchmarks/torch_reference.py; float32 matmuls in TF32 on both sides, JAX's default on GPUs), and at the
  preset's own classification run (full: 257-token prompts, 8 micro-batches, 4 seeds), which has no PyTorch twin;
- memory: for each run of the preset (simulations.memory.preset_runs), the peak device memory of one training call
  and one evaluation chunk (the device's `memory_stats`, where it reports them) against the compiled-size estimate
  of those two programs (simulations.memory.program_bytes);
- long: one training call of the `long` preset (an encoder over 513-token prompts, micro-batches of 16), timed;
- target: seconds to target of our recipe (benchmarks/time_to_target.py, without the reference recipe, whose cap
  of 10x ours would not fit the budget).

Prints a line per measurement and, last, a markdown table for docs/gpu.md.

    python benchmarks/gpu_check.py [--preset full] [--compare-torch PY] [--skip long target ...] [--budget 480]

Parts start while the budget (seconds, default 480) lasts; each is stopped after --timeout seconds.

`--preset quick --skip long target` runs the same code on a laptop CPU in a few minutes (a check of the script).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PARTS = ("speed", "memory", "long", "target")
HERE = Path(__file__).parent


def _peak() -> int | None:
    import jax

    stats = jax.devices()[0].memory_stats()
    return None if not stats else stats.get("peak_bytes_in_use")


def _speed(preset: str) -> list[dict]:
    from train import ANCHOR_TASK, ANCHORS, steps_per_second

    from simulations.config import RunConfig, TrainConfig
    from simulations.presets import PRESETS

    run = PRESETS[preset]["classification"]
    m, t = run.model, run.train
    anchor = RunConfig(ANCHOR_TASK, ANCHORS["6x128"], TrainConfig(batch=64, seeds=1))
    large = RunConfig(ANCHOR_TASK, m, TrainConfig(batch=t.batch, seeds=1))
    return [
        {"what": "steps/s, anchor task, 6x128 (batch 64, 1 seed)", "value": steps_per_second(anchor, 60)},
        {
            "what": f"steps/s, anchor task, {m.depth}x{m.width} (batch {t.batch}, 1 seed)",
            "value": steps_per_second(large, 20),
        },
        {
            "what": f"steps/s, {preset} classification run (batch {t.batch}, {t.seeds} seeds)",
            "value": steps_per_second(run, 10),
        },
    ]


def _memory(preset: str, name: str) -> list[dict]:
    import jax.numpy as jnp

    from simulations import evaluate
    from simulations.keys import seed_keys
    from simulations.memory import preset_runs, program_bytes, traced
    from simulations.train import init_state, make_step

    cfg = preset_runs(preset)[name]
    state, (_, train_keys, _) = init_state(cfg), seed_keys(cfg)
    step, icl = make_step(cfg), evaluate.cached_runner(cfg, "icl")
    args = (train_keys, state.models, state.opt_states, jnp.asarray(0), 1)
    train_bytes = program_bytes(traced(step, *args, donate=(1, 2)).lower().compile())
    models, _, losses = step(train_keys, state.models, state.opt_states, jnp.asarray(0), 1)
    losses.block_until_ready()
    trained = _peak()
    tasks = evaluate.eval_tasks(cfg, 0, cfg.eval.chunk)
    eval_bytes = program_bytes(traced(icl, models, tasks).lower().compile())
    icl(models, tasks).block_until_ready()
    return [
        {"what": f"peak GB, {name}: training call", "value": _gb(trained), "estimate": _gb(train_bytes)},
        {
            "what": f"peak GB, {name}: + evaluation chunk",
            "value": _gb(_peak()),
            "estimate": _gb(max(train_bytes, eval_bytes)),
        },
    ]


def _long() -> list[dict]:
    import jax.numpy as jnp

    from simulations.keys import seed_keys
    from simulations.presets import LONG
    from simulations.train import init_state, make_step

    state, (_, train_keys, _) = init_state(LONG), seed_keys(LONG)
    step = make_step(LONG)
    t0 = time.perf_counter()
    models, opts, losses = step(train_keys, state.models, state.opt_states, jnp.asarray(0), 1)
    losses.block_until_ready()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, _, losses = step(train_keys, models, opts, jnp.asarray(1), 1)
    losses.block_until_ready()
    return [
        {"what": "long preset: one training step, s (compile + first call)", "value": first},
        {"what": "long preset: one training step, s", "value": time.perf_counter() - t0},
        {"what": "long preset: peak GB", "value": _gb(_peak())},
    ]


def _target() -> list[dict]:
    from time_to_target import OURS, time_ours

    seconds, reached = time_ours(OURS, 512, 100)
    return [{"what": "seconds to target, ours" + ("" if reached else " (missed: its horizon)"), "value": seconds}]


def _gb(n: int | None) -> float | None:
    return None if n is None else n / 1e9


def _part(part: str, preset: str) -> list[dict]:
    sys.path.insert(0, str(HERE))  # train.py and time_to_target.py, beside this script
    kind, _, name = part.partition(":")
    if kind == "speed":
        return _speed(preset)
    if kind == "memory":
        return _memory(preset, name)
    return _long() if kind == "long" else _target()


def _in_process(part: str, preset: str, timeout: float) -> list[dict]:
    """One part in a fresh interpreter (with the device's default memory settings); its rows, or one row saying why
    there are none."""
    cmd = [sys.executable, __file__, "--part", part, "--preset", preset]
    env = {k: v for k, v in os.environ.items() if k != "XLA_PYTHON_CLIENT_PREALLOCATE"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return [{"what": part, "value": None, "note": f"stopped after {timeout:.0f} s"}]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"what": part, "value": None, "note": f"failed: {last[:200]}"}]
    return json.loads(lines[-1])["rows"]


def _torch(python: str, preset: str, device: str) -> list[dict]:
    sys.path.insert(0, str(HERE))
    from train import ANCHORS, TORCH_SCRIPT, torch_steps_per_second

    from simulations.presets import PRESETS

    run = PRESETS[preset]["classification"]
    anchor = torch_steps_per_second(python, TORCH_SCRIPT, ANCHORS["6x128"], device)
    rate = torch_steps_per_second(python, TORCH_SCRIPT, run.model, device, run.train.batch)
    m = run.model
    return [
        {"what": "torch steps/s, anchor task, 6x128 (batch 64, 1 seed)", "value": anchor},
        {"what": f"torch steps/s, anchor task, {m.depth}x{m.width} (batch {run.train.batch}, 1 seed)", "value": rate},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="full", choices=("quick", "full"), help="the runs sized and timed")
    parser.add_argument("--compare-torch", metavar="PY", help="a Python with torch and transformers")
    parser.add_argument("--skip", nargs="*", default=[], choices=PARTS, help="parts not run")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds per part at most")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds in all: no part starts after it")
    parser.add_argument("--part", help=argparse.SUPPRESS)  # internal: run one part here, print its rows
    args = parser.parse_args()
    if args.part:
        print(json.dumps({"rows": _part(args.part, args.preset)}))
        return
    os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # this process only names the device: it holds no memory
    import jax

    from simulations.memory import preset_runs

    device = jax.devices()[0]
    print(f"device: {device.device_kind} ({jax.default_backend()}), jax {jax.__version__}", flush=True)
    start = time.perf_counter()

    parts = [p for p in PARTS if p not in args.skip]
    jobs = [f"memory:{name}" for name in preset_runs(args.preset) if "memory" in parts]
    jobs = (["speed"] if "speed" in parts else []) + jobs + [p for p in ("long", "target") if p in parts]
    rows = []
    for job in jobs:
        t0 = time.perf_counter()
        left = args.budget - (t0 - start)
        if left <= 0:
            rows.append({"what": job, "value": None, "note": f"not run: the {args.budget:.0f} s budget was spent"})
            print(f"{job}: not run (budget spent)", flush=True)
            continue
        got = _in_process(job, args.preset, min(args.timeout, left))
        for row in got:
            print(f"{row['what']}: {_fmt(row)}  [{time.perf_counter() - t0:.0f} s]", flush=True)
        rows += got
    if args.compare_torch and "speed" in parts:
        torch_device = "cuda" if jax.default_backend() == "gpu" else "cpu"
        rows += _torch(args.compare_torch, args.preset, torch_device)
    print(f"\n| measurement ({device.device_kind}) | value | estimate |\n|---|---|---|")
    for row in rows:
        estimate = row.get("estimate")
        print(f"| {row['what']} | {_fmt(row)} | {'' if estimate is None else f'{estimate:.2f}'} |")


def _fmt(row: dict) -> str:
    value = row["value"]
    text = "n/a" if value is None else f"{value:.2f}"
    return f"{text} ({row['note']})" if row.get("note") else text


if __name__ == "__main__":
    main()
