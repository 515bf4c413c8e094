"""Frozen configuration dataclasses, presets, and the config hash that names a run directory."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

from simulations.tasks import Halfspaces, LinearRegression, NextToken, Task, make_task


def curve_key(params: dict) -> str:
    """'d=4' or 'm=2,V=4': how a curve is named in errors.npz and in plots."""
    return ",".join(f"{k}={v}" for k, v in params.items())


@dataclass(frozen=True)
class ModelConfig:
    depth: int = 3
    width: int = 64
    heads: int = 4
    mlp_ratio: int = 4
    positions: Literal["learned", "rope"] = "learned"
    attention: Literal["causal", "bidirectional"] = "causal"


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 3000
    batch: int = 64
    lr: float = 1e-3
    warmup: int = 200
    weight_decay: float = 0.01
    clip: float = 1.0
    seeds: int = 2
    checkpoint_every: int = 500
    curriculum: bool = False  # grow the number of families (the active dimension, for dims) during training
    curriculum_examples: bool = False  # grow the number of in-context examples trained on (Garg et al. 2022)


@dataclass(frozen=True)
class EvalConfig:
    tasks: int = 512  # held-out tasks per curve
    bootstrap: int = 1000
    finetune_tasks: int = 128
    finetune_steps: int = 50
    finetune_lr: float = 1e-3
    bayes_chains: int = 32  # hit-and-run chains per (task, prefix) for the Bayes-optimal classifier
    bayes_steps: int = 60
    risk_tasks: int = 256  # tasks whose per-task risk (error over many queries, or over every context) is measured
    risk_queries: int = 64  # classification: fresh queries per (task, N) for the per-task risk


@dataclass(frozen=True)
class RunConfig:
    task: Task
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["task"] = self.task.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """The inverse of to_dict; the task's kind picks its registered family (simulations.register_task)."""
        task = dict(data["task"])
        kind = task.pop("kind")
        # config.json of runs written before the task registry held every family's fields
        legacy = {"classification": ("families", "alpha"), "tokens": ("dims", "label_noise")}.get(kind, ())
        for name in legacy:
            task.pop(name, None)
        return cls(
            task=make_task(kind, **task),
            model=ModelConfig(**data["model"]),
            train=TrainConfig(**data["train"]),
            eval=EvalConfig(**data["eval"]),
            seed=data["seed"],
        )

    @property
    def training(self) -> RunConfig:
        """The config training samples from: prompts of train_n_max examples when set (the model is still built
        for n_max, so a learned position table covers the longer evaluation prompts)."""
        if self.task.train_n_max is None:
            return self
        task = dataclasses.replace(self.task, n_max=self.task.train_n_max, train_n_max=None)
        return dataclasses.replace(self, task=task)

    @property
    def hash(self) -> str:
        """12 hex digits of SHA-256 over the canonical JSON of the config: the run directory's identity."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


PRESETS: dict[str, dict[str, RunConfig]] = {
    "quick": {  # sized so that `iclverify report --quick` fits in its budget on a 2-core CPU
        "classification": RunConfig(
            task=Halfspaces(n_max=16, dims=(2, 3, 4)),
            train=TrainConfig(steps=3000, batch=64, lr=2e-3, seeds=2),
            eval=EvalConfig(tasks=512, finetune_tasks=32),
        ),
        "tokens": RunConfig(
            task=NextToken(n_max=32, families=((2, 2), (2, 4), (4, 4))),
            train=TrainConfig(steps=1000, batch=64, lr=2e-3, seeds=2),
            eval=EvalConfig(tasks=512, finetune_tasks=32),
        ),
        "regression": RunConfig(
            task=LinearRegression(n_max=24, dims=(2, 3, 5), noise_var=0.25),
            train=TrainConfig(steps=2000, batch=64, lr=2e-3, seeds=2),
            eval=EvalConfig(tasks=512, finetune_tasks=32),
        ),
    },
    "full": {
        "classification": RunConfig(
            task=Halfspaces(n_max=64, dims=(2, 4, 8, 16)),
            model=ModelConfig(depth=6, width=256, heads=8),
            train=TrainConfig(steps=50_000, batch=256, seeds=4, warmup=2000, checkpoint_every=2000),
            eval=EvalConfig(tasks=2048, finetune_tasks=512, finetune_steps=100),
        ),
        "tokens": RunConfig(
            task=NextToken(n_max=256, families=((2, 8), (4, 8), (8, 8), (4, 16), (8, 32))),
            model=ModelConfig(depth=6, width=256, heads=8),
            train=TrainConfig(steps=50_000, batch=256, seeds=4, warmup=2000, checkpoint_every=2000),
            eval=EvalConfig(tasks=2048, finetune_tasks=512, finetune_steps=100),
        ),
        "regression": RunConfig(  # Garg et al. 2022: d = 20, up to 40 examples, curriculum over examples
            task=LinearRegression(n_max=40, dims=(5, 10, 20), noise_var=0.25),
            model=ModelConfig(depth=6, width=256, heads=8),
            train=TrainConfig(
                steps=50_000, batch=256, seeds=4, warmup=2000, checkpoint_every=2000, curriculum_examples=True
            ),
            eval=EvalConfig(tasks=2048, finetune_tasks=512, finetune_steps=100),
        ),
    },
}


def preset(kind: str, name: str = "quick") -> RunConfig:
    """The preset run of a task kind; a registered family without one runs its defaults with the preset's
    model and training settings (those of classification)."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    if kind in PRESETS[name]:
        return PRESETS[name][kind]
    return dataclasses.replace(PRESETS[name]["classification"], task=make_task(kind))


def _diversity(base: RunConfig, pools: tuple[int, ...]) -> dict[str, RunConfig]:
    return {f"pool={k}": dataclasses.replace(base, task=dataclasses.replace(base.task, pool=k)) for k in pools}


# Task diversity (Raventós et al. 2023): regression pretrained on a finite pool of tasks, one run per pool size;
# with few tasks the model should track the pool's posterior mean (dMMSE), with many the Gaussian one (ridge).
DIVERSITY: dict[str, dict[str, RunConfig]] = {
    "quick": _diversity(
        RunConfig(
            task=LinearRegression(n_max=16, dims=(4,), noise_var=0.25),
            train=TrainConfig(steps=1500, batch=64, lr=2e-3, seeds=2),
            eval=EvalConfig(tasks=256, finetune_tasks=8, finetune_steps=10, risk_tasks=128),
        ),
        (4, 4096),
    ),
    "full": _diversity(
        RunConfig(
            task=LinearRegression(n_max=16, dims=(8,), noise_var=0.25),
            model=ModelConfig(depth=6, width=256, heads=8),
            train=TrainConfig(steps=50_000, batch=256, seeds=4, warmup=2000, checkpoint_every=2000),
            eval=EvalConfig(tasks=2048, finetune_tasks=64, finetune_steps=50),
        ),
        tuple(2**k for k in range(1, 16)),
    ),
}


def _length(
    n_max: int, train_n_max: int, model: ModelConfig, train: TrainConfig, ev: EvalConfig
) -> dict[str, RunConfig]:
    task = NextToken(n_max=n_max, families=((2, 4),), train_n_max=train_n_max)
    return {pos: RunConfig(task, dataclasses.replace(model, positions=pos), train, ev) for pos in ("rope", "learned")}


# Length generalization: trained on prompts of train_n_max examples, evaluated up to n_max = 4 train_n_max.
LENGTH: dict[str, dict[str, RunConfig]] = {
    "quick": _length(
        64,
        16,
        ModelConfig(),
        TrainConfig(steps=800, batch=64, lr=2e-3, seeds=2),
        EvalConfig(tasks=256, finetune_tasks=8, finetune_steps=10, risk_tasks=128),
    ),
    "full": _length(
        256,
        64,
        ModelConfig(depth=6, width=256, heads=8),
        TrainConfig(steps=20_000, batch=256, seeds=4, warmup=2000, checkpoint_every=2000),
        EvalConfig(tasks=1024, finetune_tasks=64, finetune_steps=50),
    ),
}
