import os

# Tests compile hundreds of small programs and run each briefly: LLVM's optimizations (XLA's backend level,
# default 2) cost more compile time than they save. Set before JAX is imported; a caller's XLA_FLAGS win.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

# Tests compile afresh: no programs from, or into, the user's persistent compilation cache (simulations.devices);
# the test of the cache sets its own directory.
os.environ.setdefault("ICLVERIFY_XLA_CACHE", "off")

# The memory check before each run (simulations.memory.check) traces the run's programs, 1-4 s per tiny config:
# its own tests turn it on.
os.environ.setdefault("ICLVERIFY_MEMORY_CHECK", "off")

from theory.testing import load_profile

# ICLVERIFY_HYPOTHESIS_PROFILE=thorough for the long run; `ci` (fast, derandomized) by default.
load_profile()
