"""Training throughput of the meta-training step, against a PyTorch reference at the same configuration.

Anchors: in-context halfspaces with d = 8 and 32 examples (65 tokens; the reference's 66 carry one more label
token), batch 64, one seed, models of 3 layers x width 64 and 6 layers x width 128 (4 heads): Garg et al. (2022)'s
setting at two sizes. For each, prints steps/s, tokens/s and achieved FLOP/s as a fraction of a float32 matmul
peak measured in this run (a 2048^3 jnp.dot). FLOPs are counted analytically: 2 * in * out per token for every
Linear layer and 4 * T^2 * width per sequence for attention (QK^T and AV), times 3 for forward + backward.
Each line ends with the compile time (the first call's time beyond a timed call's). Then the quick preset of a
task, and the speed-up of training 4 seeds in one program over 4 runs (the seeds are
vmapped on accelerators and unrolled on the CPU, see simulations.train.make_step; both are timed).

With --compare-torch PY (a Python with torch and transformers, not a project dependency), runs
benchmarks/torch_reference.py (or --torch-script) under PY at the anchors in the same run and ends with three
lines a script can read:

    ratio vs torch 3x64: R
    ratio vs torch 6x128: R
    vmap speed-up 4 seeds: R

    python benchmarks/train.py [classification|tokens|regression] [--steps 60] [--compare-torch PY]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from simulations.config import ModelConfig, RunConfig, TrainConfig
from simulations.keys import seed_keys
from simulations.presets import PRESETS
from simulations.tasks import Halfspaces
from simulations.train import init_state, make_step

ANCHORS = {
    "3x64": ModelConfig(depth=3, width=64, heads=4),
    "6x128": ModelConfig(depth=6, width=128, heads=4),
}
ANCHOR_TASK = Halfspaces(n_max=32, dims=(8,))
TORCH_SCRIPT = Path(__file__).with_name("torch_reference.py")


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    t0 = time.perf_counter()
    for _ in range(reps):
        f(a).block_until_ready()
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def flops_per_sequence(cfg: RunConfig) -> float:
    in_dim, out_dim, T = cfg.task.feature_dim, cfg.task.out_dim, 2 * cfg.task.n_max + 1
    w, r = cfg.model.width, cfg.model.mlp_ratio
    linear = in_dim * w + cfg.model.depth * (3 * w * w + w * w + 2 * r * w * w) + w * out_dim
    return 3 * (2 * linear * T + cfg.model.depth * 4 * T * T * w)


COMPILE_S: dict[str, float] = {}  # the compile time of each timed configuration, by its label


def steps_per_second(
    cfg: RunConfig, steps: int, repeat: int = 1, unroll_seeds: bool | None = None, label: str = ""
) -> float:
    """Training steps per second: the best of `repeat` calls of `steps` steps each, after one compiling call
    (whose time beyond one timed call's is recorded in COMPILE_S[label]). The default, one call of 60 steps, is
    how the PyTorch reference times itself (60 steps after a warm-up), so that noise favours neither."""
    state, (_, train_keys, _) = init_state(cfg), seed_keys(cfg)
    step_fn = make_step(cfg, unroll_seeds)
    t0 = time.perf_counter()
    models, opts, losses = step_fn(train_keys, state.models, state.opt_states, jnp.asarray(0), steps)
    losses.block_until_ready()
    first = time.perf_counter() - t0
    best = float("inf")
    for r in range(1, repeat + 1):
        t0 = time.perf_counter()
        models, opts, losses = step_fn(train_keys, models, opts, jnp.asarray(r * steps), steps)
        losses.block_until_ready()
        best = min(best, time.perf_counter() - t0)
    COMPILE_S[label] = first - best
    return steps / best


def torch_steps_per_second(
    python: str, script: Path, model: ModelConfig, device: str = "cpu", batch: int = 64
) -> float:
    """The PyTorch reference's steps/s at `model` on `device` (cpu, cuda), run under the interpreter `python`."""
    out = subprocess.run(
        [python, str(script), str(model.depth), str(model.width), str(model.heads), device, str(batch)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.findall(r"([\d.]+) steps/s", out)[-1])


def _line(label: str, cfg: RunConfig, rate: float, seeds: int, peak: float) -> str:
    T = 2 * cfg.task.n_max + 1
    achieved = rate * seeds * flops_per_sequence(cfg) * cfg.train.batch
    return (
        f"  {label:<24}: {rate:6.2f} steps/s  {rate * seeds * cfg.train.batch * T:9,.0f} tokens/s  "
        f"{achieved / 1e9:6.1f} GFLOP/s = {achieved / peak:5.1%} of peak; compile {COMPILE_S.get(label, 0):4.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", nargs="?", default="classification", choices=sorted(PRESETS["quick"]))
    parser.add_argument("--steps", type=int, default=60, help="steps in the timed call (default 60, as the reference)")
    parser.add_argument("--compare-torch", metavar="PY", help="a Python interpreter with torch and transformers")
    parser.add_argument("--torch-script", type=Path, default=TORCH_SCRIPT, help="the PyTorch reference script")
    args = parser.parse_args()
    peak = matmul_peak()
    print(f"device {jax.devices()[0]}; matmul peak (float32, this run): {peak / 1e9:.1f} GFLOP/s")
    ratios = {}
    for name, model in ANCHORS.items():
        cfg = RunConfig(ANCHOR_TASK, model, TrainConfig(batch=64, seeds=1))
        rate = steps_per_second(cfg, args.steps, label=f"anchor {name}")
        print(_line(f"anchor {name}", cfg, rate, 1, peak))
        if args.compare_torch:
            ref = torch_steps_per_second(args.compare_torch, args.torch_script, model)
            print(f"  {'torch reference ' + name:<24}: {ref:6.2f} steps/s")
            ratios[name] = rate / ref
    base = PRESETS["quick"][args.task]

    def with_seeds(k: int) -> RunConfig:
        return dataclasses.replace(base, train=dataclasses.replace(base.train, seeds=k))

    one = steps_per_second(with_seeds(1), args.steps, label=f"{args.task} quick, 1 seed")
    four = steps_per_second(with_seeds(4), args.steps, label=f"{args.task} quick, 4 seeds")
    vmapped = steps_per_second(with_seeds(4), args.steps, unroll_seeds=False, label=f"{args.task} quick, 4 vmapped")
    print(_line(f"{args.task} quick, 1 seed", base, one, 1, peak))
    print(_line(f"{args.task} quick, 4 seeds", base, four, 4, peak))
    print(_line(f"{args.task} quick, 4 vmapped", base, vmapped, 4, peak))
    for name, r in ratios.items():
        print(f"ratio vs torch {name}: {r:.2f}")
    print(f"vmap speed-up 4 seeds: {four * 4 / one:.2f}")


if __name__ == "__main__":
    main()
