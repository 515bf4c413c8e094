"""Scale-out: training sharded over a device mesh (4 forced CPU devices in a subprocess)."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_simulations import tiny

from simulations.keys import seed_keys
from simulations.train import init_state, make_step, train

ROOT = Path(__file__).parents[1]

SHARDED = """
import dataclasses, json, sys
sys.path.insert(0, {tests!r})
import jax
from test_simulations import tiny
from simulations import devices
from simulations.keys import seed_keys
from simulations.train import init_state, make_step, train
out = {{}}
for seeds in (2, 1):
    cfg = tiny("tokens")
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seeds=seeds, steps=6, checkpoint_every=6))
    state = train(cfg, progress=False)
    leaf = state.models.head.weight
    out[seeds] = {{
        "losses": state.losses.tolist(),
        "mesh": dict(devices.mesh(seeds, cfg.train.batch).shape),
        "spec": list(leaf.sharding.spec),
        "devices": len(leaf.sharding.device_set),
        "shards": sorted({{s.data.shape[0] for s in leaf.addressable_shards}}),
    }}
print(json.dumps({{"count": jax.device_count(), "runs": out}}))
"""


def test_training_sharded_over_four_devices_matches_one_device():
    """Seeds on the mesh's seed axis, the batch on its batch axis: 2 seeds x 2 batch shards, then 1 seed x 4 batch
    shards. The losses agree with this process's one-device run to 1e-5 relative: splitting the batch only
    reorders the sums of the mean loss and of the gradient all-reduce."""
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"  # keeps conftest's flags
    env = os.environ | {"XLA_FLAGS": flags.strip(), "PYTHONPATH": str(ROOT)}
    script = SHARDED.format(tests=str(Path(__file__).parent))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["count"] == 4
    two, one = result["runs"]["2"], result["runs"]["1"]
    assert two["mesh"] == {"seeds": 2, "batch": 2} and one["mesh"] == {"seeds": 1, "batch": 4}
    assert two["spec"] == ["seeds"] and two["devices"] == 4 and two["shards"] == [1]
    assert one["devices"] == 4 and one["shards"] == [1]  # one seed, replicated over the batch shards
    for seeds, run in ((2, two), (1, one)):
        cfg = tiny("tokens")
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seeds=seeds, steps=6, checkpoint_every=6))
        here = train(cfg, progress=False).losses
        np.testing.assert_allclose(np.asarray(run["losses"]), here, rtol=1e-5)


@pytest.mark.parametrize("attention", ["causal", "bidirectional"])
def test_micro_batches_and_remat_take_the_same_steps(attention):
    """Memory savers change no numbers: 4 micro-batches with recomputed activations give the losses and weights of
    whole batches (float tolerance; the weights' tolerance as in the unrolled-vs-vmapped test)."""
    base = tiny("tokens", attention=attention)
    saver = dataclasses.replace(base, train=dataclasses.replace(base.train, micro_batches=4, remat=True))
    out = []
    for cfg in (base, saver):
        state = init_state(cfg)
        _, train_keys, _ = seed_keys(cfg)
        models, _, losses = make_step(cfg)(train_keys, state.models, state.opt_states, jnp.asarray(0), 4)
        out.append((losses, jax.tree.leaves(eqx.filter(models, eqx.is_array))))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-5)
    for a, b in zip(out[0][1], out[1][1], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_fused_attention_path_is_the_plain_one():
    """jax.nn.dot_product_attention (the accelerators' path) and the CPU's batched matmuls agree under a mask."""
    from simulations.model import _attend

    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(0), 4)
    q, k, v = (jax.random.normal(key, (4, n, 16)) for key, n in ((k1, 7), (k2, 9), (k3, 9)))
    mask = jax.random.bernoulli(k4, 0.6, (7, 9)).at[:, 0].set(True)  # every query sees at least one key
    np.testing.assert_allclose(_attend(q, k, v, mask, fused=True), _attend(q, k, v, mask, fused=False), atol=1e-6)


def test_presets_fit_their_memory_budgets():
    """The upper estimates `simulate` checks (read from the traced programs; above XLA's compiled sizes, which
    tests/test_faults.py checks on a tiny run and benchmarks/memory.py prints for every preset): the largest quick
    run's stages fit 4 GB; the largest full run's (tokens: 513-token prompts) and the long preset's fit one 80 GB
    GPU with room, 60 GB."""
    from simulations.memory import BUDGETS_GB, estimates
    from simulations.presets import LONG, PRESETS

    quick = estimates(PRESETS["quick"]["classification"])
    full = estimates(PRESETS["full"]["tokens"])
    long = estimates(LONG)  # 2047-token prompts, bidirectional: one pass per prefix, no per-task-risk pass
    task_stages = {"baselines chunk", "references chunk"}
    assert set(full) == {"train step", "evaluation chunk", "risk chunk", "fine-tuning chunk"} | task_stages
    assert set(long) == {"train step", "evaluation chunk"} | task_stages
    assert max(quick.values()) <= BUDGETS_GB["quick"] * 1e9, quick
    assert max(full.values()) <= BUDGETS_GB["full"] * 1e9, full
    assert max(long.values()) <= BUDGETS_GB["long"] * 1e9, long
    assert min(full["train step"], long["evaluation chunk"]) > 2e9  # the programs hold the real activations


def test_bfloat16_compute_trains_like_float32():
    """Mixed precision: float32 weights and outputs, bfloat16 matmuls; the first steps' losses within 2% of
    float32's (bfloat16 keeps 8 bits of mantissa: about 3 significant digits)."""
    base = tiny("tokens")
    half = dataclasses.replace(base, model=dataclasses.replace(base.model, dtype="bfloat16"))
    losses = []
    for cfg in (base, half):
        state = init_state(cfg)
        _, train_keys, _ = seed_keys(cfg)
        models, _, out = make_step(cfg)(train_keys, state.models, state.opt_states, jnp.asarray(0), 4)
        assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(eqx.filter(models, eqx.is_array)))
        losses.append(np.asarray(out))
    assert np.all(np.isfinite(losses[1]))
    np.testing.assert_allclose(losses[1], losses[0], rtol=0.02)


@pytest.mark.parametrize("family", [0, 1])  # d = 2: the exact arc; d = 3: hit-and-run chains, one key per task
def test_baselines_and_references_do_not_depend_on_the_chunk(family):
    """Evaluation calls a task's baselines and reference learners on chunks of eval.chunk tasks (memory), each task
    with its own key: halfspaces' max-margin, logistic and Bayes predictions in chunks of 3 (the last padded) equal
    those of all 7 tasks at once."""
    from simulations import evaluate as E

    cfg = tiny("classification")
    tasks = E.eval_tasks(cfg, family, 7)
    queries, _ = cfg.task.risk_queries(tasks, jax.random.PRNGKey(1), cfg.eval)
    inputs = {"tasks": tasks, "queries": queries, "keys": jax.random.split(jax.random.PRNGKey(2), 7)}
    base, refs = E.task_program(cfg, "baselines"), E.task_program(cfg, "references")

    def both(p):
        return base(p["tasks"], p["keys"], None) | refs(p["tasks"], p["queries"], p["keys"])

    whole, out = (E.map_tasks(both, inputs, size) for size in (7, 3))
    assert set(out) == {"averaging", "logistic", "max_margin", "bayes"}
    for name in out:
        np.testing.assert_array_equal(out[name], whole[name], err_msg=name)
    assert np.all(np.isin(out["bayes"], (-1.0, 0.0, 1.0))) and out["bayes"].shape == (7, 5, cfg.eval.risk_queries)
