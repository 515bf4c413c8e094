"""Seconds spent compiling, per thread: tracing to a jaxpr, lowering to XLA and XLA's compilation (or its
persistent-cache read).

JAX reports the phases of every compilation through `jax.monitoring`; a run's wall time is split into compiling and
the rest by summing the phases reported in the thread that runs it (JAX compiles in the calling thread, and the
report runs two simulations at a time, each in a thread of its own). The phases follow one another, and JAX reports
tracing only for a top-level jit (not for one nested in a function being traced), so nothing is counted twice.
"""

from __future__ import annotations

import threading

import jax

EVENTS = frozenset(
    {
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    }
)
_local = threading.local()
_lock = threading.Lock()
_listening = False


def _listener(event: str, duration_secs: float, **_) -> None:
    if event in EVENTS:
        _local.seconds = getattr(_local, "seconds", 0.0) + duration_secs


def seconds() -> float:
    """Seconds this thread has spent compiling since the first call of this function (which starts the count):
    call it before and after a stage and subtract."""
    global _listening
    with _lock:
        if not _listening:
            jax.monitoring.register_event_duration_secs_listener(_listener)
            _listening = True
    return getattr(_local, "seconds", 0.0)
