"""Throughput of `Bound.n` (lambdified, vectorized) on 10^6 parameter points.

Compared with (a) a sympy `evalf` loop over points -- timed on a subsample and scaled, since 10^6 evalf calls
take minutes -- and (b) the same formula hand-written in numpy. Prints points/s and the ratios.

    python benchmarks/bounds.py [--points 1000000] [--evalf-sample 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import best_of

import theory
from theory.symbols import SYMBOLS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--evalf-sample", type=int, default=2000)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    eps = rng.uniform(0.01, 0.5, args.points)
    delta = rng.uniform(0.001, 0.2, args.points)
    m = rng.integers(1, 1000, args.points).astype(float)
    V = rng.integers(2, 50_000, args.points).astype(float)

    # text-generation.union: m ln((2^V - 2) m / delta) / (2 eps^2), the formula with the overflow-prone term.
    bound = theory.get("text-generation.union")

    def by_hand():
        return m * (V * np.log(2) + np.log1p(-(2.0 ** (1 - V))) + np.log(m / delta)) / (2 * eps**2)

    def lambdified():
        return bound.n(eps=eps, delta=delta, m=m, V=V)

    np.testing.assert_allclose(lambdified(), by_hand(), rtol=1e-12)
    t_lambdify = best_of(lambdified)
    t_numpy = best_of(by_hand)

    k = args.evalf_sample
    syms = [SYMBOLS[s] for s in ("eps", "delta", "m", "V")]
    t0 = time.perf_counter()
    for i in range(k):
        bound.expr.evalf(subs=dict(zip(syms, (eps[i], delta[i], int(m[i]), int(V[i])), strict=True)))
    t_evalf = (time.perf_counter() - t0) / k * args.points

    print(f"bound: {bound.id}, {args.points:,} points")
    print(f"  Bound.n (lambdify, numpy) : {t_lambdify:8.3f} s   {args.points / t_lambdify:14,.0f} points/s")
    print(f"  hand-written numpy        : {t_numpy:8.3f} s   {args.points / t_numpy:14,.0f} points/s")
    print(f"  sympy evalf loop (scaled) : {t_evalf:8.1f} s   {args.points / t_evalf:14,.0f} points/s  ({k} timed)")
    print(f"  speed-up over evalf       : {t_evalf / t_lambdify:10.0f}x")
    print(f"  cost relative to numpy    : {t_lambdify / t_numpy:10.2f}x (1.00 = as fast as hand-written)")


if __name__ == "__main__":
    main()
