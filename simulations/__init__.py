"""Small JAX transformers meta-trained on synthetic task families; their in-context error vs N beside
classical baselines and a fine-tuned model.

    from simulations import PRESETS, simulate
    metrics = simulate(PRESETS["quick"]["classification"], "runs/cls")

This package never imports `theory`; `iclverify` joins the two.
"""

from simulations.config import PRESETS, EvalConfig, ModelConfig, RunConfig, TaskConfig, TrainConfig
from simulations.run import simulate

__all__ = ["PRESETS", "EvalConfig", "ModelConfig", "RunConfig", "TaskConfig", "TrainConfig", "simulate"]
