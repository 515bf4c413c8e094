"""Scale-out: training sharded over a device mesh (4 forced CPU devices in a subprocess)."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from test_simulations import tiny

from simulations.train import train

ROOT = Path(__file__).parents[1]

SHARDED = """
import dataclasses, json, sys
sys.path.insert(0, {tests!r})
import jax
from test_simulations import tiny
from simulations import devices
from simulations.train import train
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
    env = os.environ | {"XLA_FLAGS": "--xla_force_host_platform_device_count=4", "PYTHONPATH": str(ROOT)}
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
