"""Small JAX transformers meta-trained on synthetic task families; their in-context error vs N beside
classical baselines and a fine-tuned model.

    from simulations import PRESETS, simulate
    metrics = simulate(PRESETS["quick"]["classification"], "runs/cls")

Task families (halfspaces, next-token laws, linear regression, or your own) are plug-ins: see
simulations.tasks and `register_task`. From `theory` it takes only the error type (theory.errors), which imports
nothing; `iclverify` joins the two.
"""

import importlib

# Where each public name lives: imported on first use, so that a numpy-only module (`simulations.rates`) does not
# load JAX through this package.
_HOME = {
    **dict.fromkeys(
        ("DIVERSITY", "PRESETS", "EvalConfig", "ModelConfig", "RunConfig", "TrainConfig", "preset"),
        "simulations.config",
    ),
    "simulate": "simulations.run",
    **dict.fromkeys(
        ("Halfspaces", "LinearRegression", "NextToken", "Task", "make_task", "register_task", "task_kinds"),
        "simulations.tasks",
    ),
}

__all__ = [
    "DIVERSITY",
    "PRESETS",
    "EvalConfig",
    "Halfspaces",
    "LinearRegression",
    "ModelConfig",
    "NextToken",
    "RunConfig",
    "Task",
    "TrainConfig",
    "make_task",
    "preset",
    "register_task",
    "simulate",
    "task_kinds",
]


def __getattr__(name: str):
    """A public name (or a submodule, `simulations.plots`), imported on first use."""
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f"simulations.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"simulations.{name}":  # the submodule exists but needs a missing package
            raise
        raise AttributeError(f"module 'simulations' has no attribute {name!r}") from None
