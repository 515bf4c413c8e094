"""Training throughput of the meta-training step.

Prints tokens per second, achieved FLOP/s as a fraction of a float32 matmul peak measured in this same run
(jnp.dot of 1024x1024 matrices), and the speed-up of training 4 seeds together (vmap) over one after another.
FLOPs are counted analytically: 2 * in * out per token for every Linear layer and 4 * T^2 * width per sequence
for attention (QK^T and AV), times 3 for forward + backward.

    python benchmarks/train.py [classification|tokens] [--steps 30]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import jax
import jax.numpy as jnp

from simulations.config import PRESETS
from simulations.train import init_state, keys, make_step


def matmul_peak(n: int = 1024, reps: int = 20) -> float:
    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    t0 = time.perf_counter()
    for _ in range(reps):
        f(a).block_until_ready()
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def flops_per_sequence(cfg) -> float:
    in_dim, out_dim, T = cfg.task.feature_dim, cfg.task.out_dim, 2 * cfg.task.n_max + 1
    w, r = cfg.model.width, cfg.model.mlp_ratio
    linear = in_dim * w + cfg.model.depth * (3 * w * w + w * w + 2 * r * w * w) + w * out_dim
    return 3 * (2 * linear * T + cfg.model.depth * 4 * T * T * w)


def steps_per_second(cfg, steps: int) -> float:
    state, (_, train_keys, _) = init_state(cfg), keys(cfg)
    step_fn = make_step(cfg)
    models, opts, loss = step_fn(state.models, state.opt_states, train_keys, jnp.asarray(0))
    loss.block_until_ready()
    t0 = time.perf_counter()
    for s in range(1, steps + 1):
        models, opts, loss = step_fn(models, opts, train_keys, jnp.asarray(s))
    loss.block_until_ready()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", nargs="?", default="classification", choices=["classification", "tokens", "regression"])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    base = PRESETS["quick"][args.task]
    peak = matmul_peak()
    T = 2 * base.task.n_max + 1

    def with_seeds(k):
        return dataclasses.replace(base, train=dataclasses.replace(base.train, seeds=k))

    one = steps_per_second(with_seeds(1), args.steps)
    four = steps_per_second(with_seeds(4), args.steps)
    tokens_per_step = base.train.batch * T
    flops = flops_per_sequence(base) * base.train.batch
    print(
        f"{args.task} quick preset: batch {base.train.batch} x {T} tokens, depth {base.model.depth}, "
        f"width {base.model.width}; device {jax.devices()[0]}"
    )
    print(f"  matmul peak (float32, this run)   : {peak / 1e9:8.1f} GFLOP/s")
    for label, rate, k in (("1 seed", one, 1), ("4 seeds, vmapped", four, 4)):
        achieved = rate * k * flops
        print(
            f"  {label:<18}: {rate:6.2f} steps/s  {rate * k * tokens_per_step:10,.0f} tokens/s  "
            f"{achieved / 1e9:7.1f} GFLOP/s = {achieved / peak:5.1%} of peak"
        )
    print(f"  speed-up of 4 seeds vmapped over 4 sequential runs: {four * 4 / one:.2f}x")


if __name__ == "__main__":
    main()
