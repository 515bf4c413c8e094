"""The random-key tree: every named branch of a run's keys is distinct, and each depends only on the run seed."""

import dataclasses

import jax
import numpy as np

from simulations import keys
from simulations.config import RunConfig, TrainConfig
from simulations.tasks import LinearRegression


def test_every_named_branch_is_a_different_key():
    cfg = RunConfig(LinearRegression(n_max=4, dims=(2, 3), pool=3), train=TrainConfig(seeds=2))
    init, train, ev = keys.seed_keys(cfg)
    named = [*init, *train, ev, *keys.pool_keys(cfg), keys.long_context_key(cfg)]
    named += [keys.eval_key(cfg, c, b) for c in range(2) for b in (None, *keys.Curve)]
    named += [keys.bounded_key(cfg, b) for b in keys.Bounded]
    raw = {tuple(np.asarray(k).tolist()) for k in named}
    assert len(raw) == len(named)
    other = dataclasses.replace(cfg, seed=1)
    assert not np.array_equal(keys.eval_key(cfg, 0), keys.eval_key(other, 0))
    assert np.array_equal(keys.eval_key(cfg, 1, keys.Curve.RISK_QUERIES), keys.eval_key(cfg, 1, 2))


def test_the_branches_keep_their_derivation():
    """Every run's numbers depend on these constants: a change here changes every stored result."""
    cfg = RunConfig(LinearRegression(n_max=4, dims=(2,), pool=3), train=TrainConfig(seeds=2), seed=7)
    k_init, k_train, k_eval = jax.random.split(jax.random.PRNGKey(7), 3)
    fold = jax.random.fold_in
    expected = {
        "seed init": (keys.seed_keys(cfg)[0], jax.random.split(k_init, 2)),
        "seed train": (keys.seed_keys(cfg)[1], jax.random.split(k_train, 2)),
        "pool": (keys.pool_keys(cfg), jax.random.split(fold(k_train, 2**31 - 1), 3)),
        "curve": (keys.eval_key(cfg, 1), fold(k_eval, 1)),
        "references": (keys.eval_key(cfg, 1, keys.Curve.REFERENCES), fold(fold(k_eval, 1), 5)),
        "window policy 1": (keys.bounded_key(cfg, keys.Bounded.WINDOW_POLICY + 1), fold(k_eval, 1002)),
        "fixed inputs": (keys.bounded_key(cfg, keys.Bounded.FIXED_INPUTS), fold(k_eval, 1011)),
        "long context": (keys.long_context_key(cfg), fold(k_eval, 2000)),
    }
    for name, (got, want) in expected.items():
        assert np.array_equal(got, want), name
