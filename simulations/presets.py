"""The presets: runs sized for a machine and a purpose (`simulate --preset`, `report --preset`).

quick: a 2-core CPU in minutes; standard: the decisive CPU preset, about an hour; full: one 80 GB GPU; long: the
long-context encoder. DIVERSITY and LENGTH are the report's side runs (task diversity, length generalization).
docs/config.md lists every field's value in each preset (simulations.fields.preset_values).
"""

from __future__ import annotations

import dataclasses

from simulations.config import EvalConfig, ModelConfig, RunConfig, TrainConfig
from simulations.tasks import Halfspaces, LinearRegression, NextToken, make_task
from theory.errors import InputError

# Quick evaluation: 256 tasks per curve (all of them for the per-task risk), 16 fine-tuned, with learning rate and
# steps chosen on 4 validation tasks (x 64 queries, or every context) per curve.
QUICK_EVAL = EvalConfig(tasks=256, finetune_tasks=16, finetune_steps=30, finetune_validation=4)

FULL_EVAL = EvalConfig(
    tasks=2048, risk_tasks=512, finetune_tasks=256, finetune_steps=100, risk_chunk=4, finetune_chunk=2
)
FULL_TRAIN = TrainConfig(steps=20_000, batch=256, seeds=4, warmup=2000, checkpoint_every=2000, micro_batches=8)

# Long context (a BERT-style encoder with rotary positions and a 2048-token window, as nomic-bert-2048): next-token
# prediction trained on prompts of 256 examples (513 tokens) and evaluated up to 1023 (2047 tokens) -- the length-
# generalization experiment at four times the trained length. Sized for one 80 GB GPU by simulations.memory:
# micro-batches of 16 prompts, one task and 8 prefixes (a 2047-token pass each) per evaluation call.
LONG = RunConfig(
    task=NextToken(n_max=1023, families=((2, 4),), train_n_max=256),
    model=ModelConfig(depth=6, width=256, heads=8, positions="rope", attention="bidirectional"),
    train=dataclasses.replace(FULL_TRAIN, micro_batches=16),
    eval=EvalConfig(tasks=512, risk_tasks=256, finetune_tasks=0, chunk=1, prefix_batch=8),
)

PRESETS: dict[str, dict[str, RunConfig]] = {
    # sized so that `iclverify report --quick` fits in its budget on a 2-core CPU with every curve near its reference
    # at n_max (docs/performance.md, "The quick report"): N <= 16 (rates on the top two octaves, [4, 16]; a step
    # costs about half as much as at 32), two halfspace dimensions. Batches of 16 (classification) and 32 (regression)
    # prompts: on halfspaces, the same number of prompts in smaller batches, with more steps, ended closer to the
    # Bayes rule in about the same time (docs/performance.md, "Time to target"); 14000 halfspace steps bring d = 2
    # within 1.25x of the Bayes rule (7000 ended at 1.32)
    "quick": {
        "classification": RunConfig(
            task=Halfspaces(n_max=16, dims=(2, 4)),
            train=TrainConfig(steps=14000, batch=16, lr=2e-3, seeds=2),
            eval=QUICK_EVAL,
        ),
        "tokens": RunConfig(  # within 1.03x of the posterior mean at n_max after 500 steps, 1.11x after 250
            task=NextToken(n_max=16, families=((2, 2), (2, 4), (4, 2))),
            train=TrainConfig(steps=400, batch=64, lr=2e-3, seeds=2),
            eval=QUICK_EVAL,
        ),
        "regression": RunConfig(
            task=LinearRegression(n_max=16, dims=(1, 2, 3), noise_var=0.25),
            train=TrainConfig(steps=4000, batch=32, lr=3e-3, seeds=2),
            eval=QUICK_EVAL,
        ),
    },
    # the decisive CPU preset, sized so that `iclverify report --preset standard` fits in an hour on 2 cores
    # (docs/performance.md, "The standard report"): N <= 64, every curve's exponent fit range [2d or m V, 64] spans
    # at least a factor of 8, the relative rates read [16, 64]; the quick recipes (batch, learning rate) at N <= 64,
    # as many steps as the hour holds
    "standard": {
        "classification": RunConfig(
            task=Halfspaces(n_max=64, dims=(2, 4)),
            train=TrainConfig(steps=9000, batch=16, lr=2e-3, seeds=2),
            eval=QUICK_EVAL,
        ),
        "tokens": RunConfig(
            task=NextToken(n_max=64, families=((2, 2), (2, 4), (4, 2))),
            train=TrainConfig(steps=800, batch=64, lr=2e-3, seeds=2),
            eval=QUICK_EVAL,
        ),
        "regression": RunConfig(
            task=LinearRegression(n_max=64, dims=(1, 2, 4), noise_var=0.25),
            train=TrainConfig(steps=7000, batch=16, lr=2e-3, seeds=2),
            eval=QUICK_EVAL,
        ),
    },
    # sized for one 80 GB GPU by simulations.memory (benchmarks/memory.py): batches of 256 in micro-batches,
    # fine-tuning 2 jobs and the per-task risk 4 tasks per call
    "full": {
        "classification": RunConfig(  # fit ranges [2d, 128]: at least a factor of 8
            task=Halfspaces(n_max=128, dims=(2, 4, 8)),
            model=ModelConfig(depth=6, width=256, heads=8),
            train=TrainConfig(steps=50_000, batch=256, seeds=4, warmup=2000, checkpoint_every=2000, micro_batches=8),
            eval=FULL_EVAL,
        ),
        "tokens": RunConfig(
            task=NextToken(n_max=256, families=((2, 4), (2, 8), (4, 8), (8, 4))),  # [m V, 256]: >= 8x
            model=ModelConfig(depth=6, width=256, heads=8),
            train=TrainConfig(steps=50_000, batch=256, seeds=4, warmup=2000, checkpoint_every=2000, micro_batches=16),
            eval=FULL_EVAL,
        ),
        # curriculum over examples as in Garg et al. 2022 (who take d = 20 and 40 examples: a range too short for a
        # rate); fit ranges [2d, 128]: at least a factor of 8
        "regression": RunConfig(
            task=LinearRegression(n_max=128, dims=(2, 4, 8), noise_var=0.25),
            model=ModelConfig(depth=6, width=256, heads=8),
            train=TrainConfig(
                steps=50_000,
                batch=256,
                seeds=4,
                warmup=2000,
                checkpoint_every=2000,
                curriculum_examples=True,
                micro_batches=8,
            ),
            eval=FULL_EVAL,
        ),
    },
    "long": {"tokens": LONG},
}


def preset(kind: str, name: str = "quick") -> RunConfig:
    """The preset run of a task kind; a registered family without one runs its defaults with the preset's
    model and training settings (those of classification).

    Args:
        kind: a registered task kind (classification, tokens, regression, or one passed to register_task).
        name: the preset: quick (sized for a 2-core CPU in minutes), standard (the decisive one, within an hour on
            2 cores), full (one 80 GB GPU) or long (tokens only: a
            bidirectional encoder with rotary positions, trained on 513-token prompts and evaluated up to 2047).

    Returns:
        The run's config (seed 0).

    Raises:
        InputError: an unknown preset or kind, or a preset without that kind (long: tokens only).
    """
    if name not in PRESETS:
        raise InputError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    if kind in PRESETS[name]:
        return PRESETS[name][kind]
    if "classification" not in PRESETS[name]:
        raise InputError(f"preset {name!r} is for {', '.join(PRESETS[name])} tasks; got {kind!r}")
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
    # the transition read in `report --preset standard`: one seed per pool size, the fine-tuned model not trained
    "standard": _diversity(
        RunConfig(
            task=LinearRegression(n_max=16, dims=(4,), noise_var=0.25),
            train=TrainConfig(steps=1500, batch=64, lr=2e-3, seeds=1),
            eval=EvalConfig(tasks=256, finetune_tasks=0, risk_tasks=128),
        ),
        (4, 64, 1024, 16384),
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
        TrainConfig(steps=600, batch=64, lr=2e-3, seeds=2),
        EvalConfig(tasks=256, finetune_tasks=0, risk_tasks=128),  # the in-context risk alone is read
    ),
    "full": _length(
        256, 64, ModelConfig(depth=6, width=256, heads=8), FULL_TRAIN, EvalConfig(tasks=1024, finetune_tasks=0)
    ),
    "long": {
        pos: dataclasses.replace(LONG, model=dataclasses.replace(LONG.model, positions=pos))
        for pos in ("rope", "learned")
    },
}
