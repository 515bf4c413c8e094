"""The random-key tree: every named branch of a run's keys is distinct, and each depends only on the run seed."""

import dataclasses

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
