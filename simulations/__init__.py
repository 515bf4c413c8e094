"""Small JAX transformers meta-trained on synthetic task families; their in-context error vs N beside
classical baselines and a fine-tuned model.

    from simulations import PRESETS, simulate
    metrics = simulate(PRESETS["quick"]["classification"], "runs/cls")

Task families (halfspaces, next-token laws, linear regression, or your own) are plug-ins: see
simulations.tasks and `register_task`. This package never imports `theory`; `iclverify` joins the two.
"""

from simulations.config import DIVERSITY, PRESETS, EvalConfig, ModelConfig, RunConfig, TrainConfig, preset
from simulations.run import simulate
from simulations.tasks import Halfspaces, LinearRegression, NextToken, Task, make_task, register_task, task_kinds

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
