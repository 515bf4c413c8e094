"""Small JAX transformers meta-trained on synthetic task families; their in-context error vs N beside
classical baselines and a fine-tuned model.

    from simulations import PRESETS, simulate
    metrics = simulate(PRESETS["quick"]["classification"], "runs/cls")

Task families (halfspaces, next-token laws, linear regression, or your own) are plug-ins: see
simulations.tasks and `register_task`. From `theory` it takes only the error type and the lazy-import
helper (theory.errors, theory.lazy), which load nothing heavy; `iclverify` joins the two.
"""

from theory import lazy

# Where each public name lives: imported on first use, so that a numpy-only module (`simulations.rates`) does not
# load JAX through this package.
_HOME = {
    **dict.fromkeys(("EvalConfig", "ModelConfig", "RunConfig", "TrainConfig"), "simulations.config"),
    **dict.fromkeys(("DIVERSITY", "PRESETS", "preset"), "simulations.presets"),
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
    return lazy.attribute(__name__, _HOME, globals(), name)
