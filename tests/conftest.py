import os
import tempfile
from pathlib import Path

import pytest

# Tests compile hundreds of small programs and run each briefly: LLVM's optimizations (XLA's backend level,
# default 2) cost more compile time than they save. Set before JAX is imported; a caller's XLA_FLAGS win.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

# The suite's processes share a persistent compilation cache of their own (simulations.devices), never the user's:
# xdist's workers and the processes tests start (Ray workers, Slurm jobs, a second sweep driver) load the programs
# another one compiled instead of compiling the same small programs again. Removed when the session ends; the test
# of the cache itself uses a directory of its own.
os.environ.setdefault("ICLVERIFY_XLA_CACHE", os.path.join(tempfile.gettempdir(), f"iclverify-test-xla-{os.getpid()}"))

# The memory check before each run (simulations.memory.check) traces the run's programs, 1-4 s per tiny config:
# its own tests turn it on.
os.environ.setdefault("ICLVERIFY_MEMORY_CHECK", "off")

# Tracking tests write W&B runs offline, never online, and keep W&B's caches out of the user's home.
os.environ["WANDB_MODE"] = "offline"
if "WANDB_CACHE_DIR" not in os.environ:  # xdist's workers inherit the controller's
    os.environ["WANDB_CACHE_DIR"] = tempfile.mkdtemp(prefix="iclverify-wandb-")
os.environ.setdefault("WANDB_CONFIG_DIR", os.environ["WANDB_CACHE_DIR"])
os.environ.setdefault("WANDB_DATA_DIR", os.environ["WANDB_CACHE_DIR"])

from simulations.devices import compilation_cache
from theory.testing import load_profile

compilation_cache()  # in this process too (tests that call simulate() directly)

# ICLVERIFY_HYPOTHESIS_PROFILE=thorough for the long run; `ci` (fast, derandomized) by default.
load_profile()


# Test files by decreasing running time (measured on 2 cores, `--durations=0` summed per file). The README runs the
# suite with `-n 2 --dist loadfile`: pytest-xdist hands whole files to its workers in collection order (its own
# reordering by test count is turned off in pyproject.toml), so the longest files start first and the short ones
# fill in at the end (longest-processing-time-first scheduling). Files not listed follow, in their own order.
SLOWEST_FIRST = (
    "test_sweep.py",
    "test_simulations.py",
    "test_report.py",
    "test_scale.py",
    "test_faults.py",
    "test_verification_power.py",
    "test_tasks.py",
    "test_references.py",
    "test_battery.py",
)


@pytest.fixture(autouse=True)
def _own_wandb_service(monkeypatch):
    """Processes a test starts run W&B's service of their own, as a user's would: once a test has tracked a run in
    this process, W&B's WANDB_SERVICE points children at this process's service, where a child killed mid-run
    would leave its run id in use."""
    monkeypatch.delenv("WANDB_SERVICE", raising=False)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its own order


def pytest_sessionfinish(session):
    """End W&B's service while pytest still holds stderr (its exit hook would write to a closed one); the session's
    compilation cache and W&B directory go with the process that made them (xdist's controller, or the only one)."""
    import shutil
    import sys

    if sys.modules.get("wandb") is not None:
        sys.modules["wandb"].teardown()
    if hasattr(session.config, "workerinput"):
        return
    for made in (os.environ["ICLVERIFY_XLA_CACHE"], os.environ["WANDB_CACHE_DIR"]):
        if Path(made).name.startswith((f"iclverify-test-xla-{os.getpid()}", "iclverify-wandb-")):
            shutil.rmtree(made, ignore_errors=True)
