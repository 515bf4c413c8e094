"""Monte-Carlo throughput: trials per second of the vectorized samplers in theory.montecarlo against a
straightforward numpy loop over trials (one generator call per trial), for the TV and Hoeffding experiments.

    python benchmarks/montecarlo.py [--trials 20000]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from _timing import best_of

import theory
from theory.montecarlo import experiments_for, zipf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20_000)
    args = parser.parse_args()
    T = args.trials

    tv = next(e for e in experiments_for("tv.bretagnolle-huber-carol") if "Zipf" in e.name)
    n_tv = math.ceil(theory.get(tv.bound_id).n(**tv.params))
    p = zipf(tv.params["V"])

    def tv_loop():
        rng = np.random.default_rng(0)
        return np.array([0.5 * np.abs(rng.multinomial(n_tv, p) / n_tv - p).sum() for _ in range(T)])

    hoeff = experiments_for("hoeffding")[0]
    n_h = math.ceil(theory.get("hoeffding").n(**hoeff.params))

    def hoeffding_loop():
        rng = np.random.default_rng(0)
        return np.array([abs(rng.binomial(n_h, 0.5) / n_h - 0.5) for _ in range(T)])

    rows = [
        (f"TV, Zipf law, V=10, n={n_tv}", lambda: tv.sample(n_tv, T, np.random.default_rng(0)), tv_loop),
        (f"Hoeffding, Bernoulli(1/2), n={n_h}", lambda: hoeff.sample(n_h, T, np.random.default_rng(0)), hoeffding_loop),
    ]
    print(f"{T:,} trials per run, best of 3")
    for name, vectorized, loop in rows:
        np.testing.assert_allclose(vectorized(), loop())  # same generator, same draws, same errors
        tv_, tl = best_of(vectorized), best_of(loop)
        print(
            f"  {name:<38} vectorized {T / tv_:12,.0f} trials/s   loop {T / tl:10,.0f} trials/s   "
            f"speed-up {tl / tv_:6.1f}x"
        )


if __name__ == "__main__":
    main()
