"""Where a run's arrays live: a `jax.sharding.Mesh` over the devices, seeds on one axis and the batch on the other.

One code path serves one device and many: the mesh has shape (s, b) with s = gcd(seeds, devices) seed groups and
b = gcd(batch, devices / s) batch shards, so that 4 seeds on 4 GPUs train one seed per GPU, 2 seeds on 4 GPUs
split each seed's batch over 2 GPUs, and on one device both axes have size 1 (placement is then a no-op).
Stacked models and optimizer states are sharded along their leading (seed) axis with `NamedSharding`; each step's
batch is constrained to the batch axis inside the compiled step (GSPMD partitions the rest and inserts the
gradient all-reduce).

Multi-host runs (several machines, one process each) call `jax.distributed.initialize()` first: `initialize()`
does so when JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID are set, after which `jax.devices()`
lists every host's devices and the same mesh spans them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

SEEDS, BATCH = "seeds", "batch"  # the mesh's axis names

_initialized = False


def initialize() -> None:
    """`jax.distributed.initialize` from JAX_COORDINATOR_ADDRESS (host:port of process 0), JAX_NUM_PROCESSES and
    JAX_PROCESS_ID when the first is set; nothing otherwise (one host). Safe to call more than once."""
    global _initialized
    address = os.environ.get("JAX_COORDINATOR_ADDRESS")
    if _initialized or not address:
        return
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=int(os.environ["JAX_NUM_PROCESSES"]),
        process_id=int(os.environ["JAX_PROCESS_ID"]),
    )
    _initialized = True


CACHE_ENV = "ICLVERIFY_XLA_CACHE"  # the compiled-program cache's directory, or "off"
MIN_COMPILE_S = 0.5  # programs compiled faster than this are not worth a disk read
CACHE_BYTES = 4 * 2**30  # the least recently used programs are evicted beyond this


def compilation_cache() -> Path | None:
    """Keep compiled programs on disk (JAX's persistent compilation cache), so that a second report, a resumed run
    or a sweep's next run in a new process loads its XLA programs instead of compiling them again (the cache key
    covers the program, the JAX and XLA versions, flags and the device; a stale entry is never used).

    Directory: $ICLVERIFY_XLA_CACHE, else $XDG_CACHE_HOME/iclverify/xla (default ~/.cache/iclverify/xla), at most
    CACHE_BYTES (least recently used entries evicted); ICLVERIFY_XLA_CACHE=off turns it off. Call before the first
    compilation; later calls are no-ops.

    Returns:
        The cache directory, or None when turned off.
    """
    setting = os.environ.get(CACHE_ENV, "")
    if setting.lower() == "off":
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = Path(setting) if setting else base / "iclverify" / "xla"
    if jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", str(path))
        if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:  # JAX's own setting wins
            jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        jax.config.update("jax_compilation_cache_max_size", CACHE_BYTES)
    return Path(jax.config.jax_compilation_cache_dir)


def mesh(seeds: int, batch: int, devices: list | None = None) -> Mesh:
    """The (seeds, batch) mesh for `seeds` models trained on batches of `batch` prompts: gcd(seeds, D) seed groups
    times gcd(batch, D / groups) batch shards over the first of the D devices (all of them when the numbers
    divide; devices that would hold an unequal share stay idle).

    Args:
        seeds: models trained together (cfg.train.seeds), an integer >= 1.
        batch: prompts per training step per seed (cfg.train.batch), an integer >= 1.
        devices: the D devices to use, in order (default: jax.devices(), every host's after `initialize`).

    Returns:
        A Mesh of shape (gcd(seeds, D), gcd(batch, D / groups)) with axes ('seeds', 'batch').
    """
    devices = jax.devices() if devices is None else devices
    s = math.gcd(seeds, len(devices))
    b = math.gcd(batch, len(devices) // s)
    return Mesh(np.asarray(devices[: s * b]).reshape(s, b), (SEEDS, BATCH))


def by_seed(tree, where: Mesh):
    """Place every array of `tree` (leading axis: seeds) split along the mesh's seed axis."""
    return jax.device_put(tree, NamedSharding(where, PartitionSpec(SEEDS)))


def batch_sharded(tree, where: Mesh):
    """Constrain a batch (leading axis: prompts) to the mesh's batch axis, inside a compiled function; under a
    vmap over seeds with spmd_axis_name=SEEDS the seed axis is added in front."""
    if where.shape[BATCH] == 1:
        return tree
    return jax.lax.with_sharding_constraint(tree, NamedSharding(where, PartitionSpec(BATCH)))
