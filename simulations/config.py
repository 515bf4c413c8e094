"""Frozen configuration dataclasses, presets, and the config hash that names a run directory."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from simulations.tasks import Halfspaces, LinearRegression, NextToken, Task, make_task
from simulations.tasks.base import documented, require_int, require_real, tuples
from theory.errors import InputError

# Bump whenever what a run computes or writes changes (training, evaluation, errors.npz or metrics.json), so that
# runs written by older code are refused instead of silently reused. 2: two-stage bootstrap intervals, exact and
# converged references; 3: fine-tuning scored by per-task risk with settings chosen on validation tasks; 4: the
# in-context predictor's risks at half the training budget (halfway_risk, ...), from checkpoint-half.eqx; 5:
# checkpoints and stored curves carry a SHA-256 checksum (simulations.files), so older ones would read as damaged;
# 6: the halfspace Bayes sampler's settings (bayes_chains, bayes_steps) moved from eval to the task.
SCHEMA = 6


@dataclass(frozen=True)
class ModelConfig:
    """The transformer (simulations.model): `depth` pre-norm blocks of width `width` with `heads` attention heads
    (width divisible by heads; an even head width with RoPE) and an MLP of mlp_ratio x width; positions learned
    (a table over the prompt), rotary (Su et al. 2021) or none; attention causal (decoder, every prefix at once) or
    bidirectional (encoder, one prefix per pass)."""

    depth: int = documented(3, "pre-norm transformer blocks")
    width: int = documented(64, "model width (residual stream), a multiple of heads")
    heads: int = documented(4, "attention heads per block (head width = width / heads; even with rope)")
    mlp_ratio: int = documented(4, "MLP hidden width as a multiple of width")
    positions: Literal["learned", "rope", "none"] = documented(
        "learned",
        "position encoding: learned (a table over the longest prompt), rope (rotary, Su et al. 2021) or none (no "
        "position information: a bidirectional encoder is then a function of the set of its tokens)",
    )
    attention: Literal["causal", "bidirectional"] = documented(
        "causal", "causal (a decoder: every prefix in one pass) or bidirectional (an encoder: one pass per prefix)"
    )
    dtype: Literal["float32", "bfloat16"] = documented(
        "float32", "compute dtype of the matmuls (weights, softmax and outputs stay float32): bfloat16 for GPUs"
    )

    def __post_init__(self) -> None:
        for name in ("depth", "width", "heads", "mlp_ratio"):
            require_int(name, getattr(self, name), 1)
        if self.width % self.heads:
            raise InputError(f"width must be a multiple of heads = {self.heads}; got {self.width}")
        if self.positions == "rope" and (self.width // self.heads) % 2:
            raise InputError(f"width / heads must be even with positions = 'rope'; got {self.width} / {self.heads}")
        _choice("positions", self.positions, ("learned", "rope", "none"))
        _choice("attention", self.attention, ("causal", "bidirectional"))
        _choice("dtype", self.dtype, ("float32", "bfloat16"))


@dataclass(frozen=True)
class TrainConfig:
    """Meta-training: `steps` AdamW steps (learning rate `lr`, linear warm-up over `warmup` steps then cosine
    decay, weight decay, gradient clipping at global norm `clip`) on batches of `batch` fresh prompts, for
    `seeds` independently initialised models trained together; a checkpoint every `checkpoint_every` steps.
    Memory, not numbers: `micro_batches` equal parts of each batch are differentiated one after another and their
    gradients averaged (the same step up to float rounding), and `remat` recomputes each block's activations in
    the backward pass instead of storing them."""

    steps: int = documented(3000, "optimizer steps (AdamW)")
    batch: int = documented(64, "fresh prompts per step, per seed")
    lr: float = documented(1e-3, "peak learning rate, after warmup; cosine decay to lr / 100 at the last step")
    warmup: int = documented(200, "steps of linear learning-rate warm-up from 0")
    weight_decay: float = documented(0.01, "AdamW's decoupled weight decay, per unit learning rate")
    clip: float = documented(1.0, "gradients clipped to this global L2 norm")
    seeds: int = documented(2, "independently initialised models trained together (vmapped; sharded on devices)")
    checkpoint_every: int = documented(500, "steps between atomic checkpoints (a killed run resumes from the last)")
    curriculum: bool = documented(False, "grow the number of families trained on (the active dimension, for dims)")
    curriculum_examples: bool = documented(
        False, "grow the number of in-context examples trained on (Garg et al. 2022)"
    )
    micro_batches: int = documented(
        1, "gradient accumulation: equal parts of each batch differentiated one at a time (memory, not results)"
    )
    remat: bool = documented(
        False, "recompute each block's activations in the backward pass (jax.checkpoint; memory, not results)"
    )

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "seeds", "checkpoint_every", "micro_batches"):
            require_int(name, getattr(self, name), 1)
        if self.batch % self.micro_batches:
            raise InputError(f"micro_batches must divide batch = {self.batch}; got {self.micro_batches}")
        require_int("warmup", self.warmup, 0)
        require_real("lr", self.lr, 0.0, open_low=True)
        require_real("weight_decay", self.weight_decay, 0.0)
        require_real("clip", self.clip, 0.0, open_low=True)
        for name in ("curriculum", "curriculum_examples", "remat"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be true or false; got {getattr(self, name)!r}")


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation on held-out tasks: `tasks` per curve for the mean curves, the first `risk_tasks` of them for
    the per-task risk (`risk_queries` fresh queries each), the first `finetune_tasks` of those for fine-tuning
    (none when 0; Adam, learning rate from `finetune_lrs` and steps from the checkpoints of `finetune_steps`,
    both chosen per N on `finetune_validation` separate tasks); `bootstrap` resamples per interval. A family's
    own evaluation settings (the halfspace Bayes sampler's chains and steps) are fields of its task, so that they
    change no other family's run hash. `chunk`, `risk_chunk`, `finetune_chunk` and `prefix_batch` set how much
    one compiled call holds (the peak device memory of evaluation, simulations.memory), not what it computes."""

    tasks: int = documented(512, "held-out tasks per curve, fresh from the prior")
    bootstrap: int = documented(1000, "bootstrap resamples per 95% interval (seeds and tasks resampled)")
    finetune_tasks: int = documented(128, "risk tasks on which the fine-tuned model is scored (0: no fine-tuning)")
    finetune_steps: int = documented(
        50, "Adam steps of the longest fine-tuning run (read at a quarter, half and all of it)"
    )
    finetune_lrs: tuple[float, ...] = documented((3e-4, 1e-3, 3e-3), "fine-tuning learning rates tried per N")
    finetune_validation: int = documented(
        8, "validation tasks per curve on which each N's fine-tuning learning rate and steps are chosen"
    )
    risk_tasks: int = documented(
        256, "first tasks whose per-task risk (error over many queries, or over every context) is measured"
    )
    risk_queries: int = documented(64, "fresh queries per (task, N) for the per-task risk (vector inputs)")
    chunk: int = documented(
        128, "tasks per compiled evaluation call, and per call of the baselines and references (memory, not results)"
    )
    risk_chunk: int = documented(16, "tasks per call of the per-task risk (many queries per prefix; memory)")
    finetune_chunk: int = documented(
        8, "fine-tuning jobs per call, each a model copy per N with its Adam state (memory, not results)"
    )
    prefix_batch: int = documented(64, "bidirectional models: prefixes, one pass each, evaluated at a time (memory)")

    def __post_init__(self) -> None:
        require_int("tasks", self.tasks, 2)
        require_int("bootstrap", self.bootstrap, 20)
        require_int("risk_tasks", self.risk_tasks, 2, self.tasks, f"an integer in [2, tasks = {self.tasks}]")
        top = f"an integer in [0, risk_tasks = {self.risk_tasks}]"  # fine-tuning is scored on ICL's risk tasks
        require_int("finetune_tasks", self.finetune_tasks, 0, self.risk_tasks, top)  # 0: no fine-tuning
        names = ("finetune_steps", "finetune_validation", "risk_queries", "chunk")
        for name in (*names, "risk_chunk", "finetune_chunk", "prefix_batch"):
            require_int(name, getattr(self, name), 1)
        if not isinstance(self.finetune_lrs, tuple) or not self.finetune_lrs:
            raise InputError(f"finetune_lrs must be a non-empty tuple of learning rates; got {self.finetune_lrs!r}")
        for lr in self.finetune_lrs:
            require_real("finetune_lrs", lr, 0.0, open_low=True)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


@dataclass(frozen=True)
class RunConfig:
    """One simulation: its directory's identity is `hash`. Every field is listed, with its default and each
    preset's value, in the configuration reference (docs/config.md).

    Attributes:
        task: the task family and its parameters, a Task (simulations.tasks: Halfspaces, NextToken,
            LinearRegression, or a registered one).
        model: the transformer (ModelConfig).
        train: meta-training (TrainConfig).
        eval: evaluation on held-out tasks (EvalConfig).
        seed: the run's seed, an integer >= 0; every key (initialisation, training data, evaluation) derives
            from it.
    """

    task: Task
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = documented(0, "the run's seed: every key (initialisation, training data, evaluation) derives from it")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["task"] = self.task.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """The inverse of to_dict (keys to_dict does not write, such as a config.json's config_hash, are ignored);
        the task's kind picks its registered family (simulations.register_task). An unknown field is an
        InputError naming the section's fields.

        Args:
            data: {'task': {'kind': ..., field: value}, 'model': {...}, 'train': {...}, 'eval': {...}, 'seed': int}
                as to_dict writes it (a run's config.json); JSON lists are read back as tuples.

        Returns:
            The config.

        Raises:
            InputError: an unknown task kind, an unknown field (naming the section's fields), or a value out of its
                range (naming the field).
            KeyError: a missing section (task, model, train, eval, seed) or task kind.
        """
        task = dict(data["task"])
        kind = task.pop("kind")
        # config.json of runs written before the task registry held every family's fields
        legacy = {"classification": ("families", "alpha"), "tokens": ("dims", "label_noise")}.get(kind, ())
        for name in legacy:
            task.pop(name, None)
        ev = {k: tuples(v) for k, v in data["eval"].items()}
        moved = {k: ev.pop(k) for k in ("bayes_chains", "bayes_steps") if k in ev}  # schema < 6: eval held them
        if kind == "classification":
            task = moved | task
        return cls(
            task=make_task(kind, **task),
            model=_section(ModelConfig, "model", data["model"]),
            train=_section(TrainConfig, "train", data["train"]),
            eval=_section(EvalConfig, "eval", ev),
            seed=_seed(data["seed"]),
        )

    def override(self, assignments: Sequence[str]) -> RunConfig:
        """This config with assignments `section.field=value` applied, e.g. `train.warmup=500`, `model.width=128`,
        `task.dims=[2,4]`, `eval.finetune_lrs=[1e-3]`, `seed=3` (sections: task, model, train, eval). Values are
        JSON (a bare word is a string: `model.positions=rope`); see `assign`.

        Args:
            assignments: strings `section.field=value` (or `seed=value`); each value is parsed as JSON, else taken
                as a bare string; a later assignment to the same name wins.

        Returns:
            A new config (this one is frozen).

        Raises:
            InputError: a malformed assignment (no `=` or an empty value), an unknown field or a value out of range
                (one line naming it).
        """
        values = {}
        for text in assignments:
            key, sep, raw = text.partition("=")
            if not sep or not raw.strip():
                raise InputError(f"--set takes section.field=value (e.g. train.warmup=500); got {text!r}")
            values[key.strip()] = _value(raw)
        return self.assign(values)

    def assign(self, values: Mapping[str, object], label: str = "--set") -> RunConfig:
        """This config with `{'section.field': value}` (or `{'seed': value}`) applied: each section is rebuilt and
        validated by its own dataclass, so a value out of range is an InputError naming the field; an unknown
        name is one naming `label` (where the name came from: --set, a sweep spec's axis) and the valid fields.

        Args:
            values: {'section.field': value} (or {'seed': value}), section one of task, model, train, eval; values
                already parsed (JSON types; a list is accepted for a tuple field).
            label: where the names came from (e.g. '--set', a sweep spec's axis), prefixed to error messages.

        Returns:
            A new config (this one is frozen).

        Raises:
            InputError: a name that is neither seed nor section.field, a field the section lacks (listing its
                fields), or a value out of range (naming the field).
        """
        data = self.to_dict()
        for key, value in values.items():
            path = key.split(".")
            if path == ["seed"]:
                data["seed"] = value
                continue
            if len(path) != 2 or path[0] not in ("task", "model", "train", "eval"):
                sections = "section one of task, model, train, eval"
                raise InputError(f"{label} {key}: the name must be seed or section.field, {sections}")
            section, name = path
            names = sorted(data[section].keys() - {"kind"})
            if name not in names:
                what = f"{self.task.kind} tasks" if section == "task" else section
                raise InputError(f"{label} {key}: {what} have no field {name!r}; fields: {', '.join(names)}")
            data[section][name] = value
        return RunConfig.from_dict(data)

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
        """12 hex digits of SHA-256 over the canonical JSON of the config and the code that computes a run (the
        package version and SCHEMA): the run directory's identity."""
        blob = json.dumps(self.to_dict() | code_version(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def _section(cls: type, name: str, values: dict):
    """cls(**values), an unknown key being an InputError that lists the section's fields."""
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise InputError(f"{name} has no field {unknown[0]!r}; fields: {', '.join(names)}")
    return cls(**values)


def _seed(value) -> int:
    require_int("seed", value, 0)
    return value


def _value(raw: str):
    """A --set value: JSON (numbers, true/false, null, lists), else the bare string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip()


def code_version() -> dict[str, str | int]:
    """What computed a run: the installed package's version and the evaluation schema (SCHEMA)."""
    try:
        version = importlib.metadata.version("iclverify")
    except importlib.metadata.PackageNotFoundError:  # a source tree that is not installed
        version = "unknown"
    return {"iclverify_version": version, "schema": SCHEMA}


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
    # Bayes rule in about the same time (docs/performance.md, "Time to target")
    "quick": {
        "classification": RunConfig(
            task=Halfspaces(n_max=16, dims=(2, 4)),
            train=TrainConfig(steps=7000, batch=16, lr=2e-3, seeds=2),
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
    # at least a factor of 8, the relative rates read [16, 64]; the quick recipes with more prompts
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


def shown(value: object) -> str:
    """A field's value as the command line writes it: 2,4,8 for a tuple, 2x4,4x8 for pairs, on/off, none."""
    if isinstance(value, tuple):
        return ",".join("x".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return "none" if value is None else str(value)


SECTIONS = {"model": ModelConfig, "train": TrainConfig, "eval": EvalConfig}


BUILT_IN = {cls.kind: cls for cls in (Halfspaces, NextToken, LinearRegression)}


def field_doc(section: str, name: str) -> str:
    """What a config field does (its dataclass metadata): a model, train or eval field, or a built-in family's task
    field, prefixed with the families that have it unless all do ('classification, regression: input ...')."""
    if section in SECTIONS:
        return SECTIONS[section].__dataclass_fields__[name].metadata.get("doc", "")
    fields = {kind: cls.__dataclass_fields__ for kind, cls in BUILT_IN.items()}
    owners = {kind: own[name] for kind, own in fields.items() if name in own}
    text = next(iter(owners.values())).metadata.get("doc", "") if owners else ""
    return text if len(owners) == len(BUILT_IN) else f"{', '.join(owners)}: {text}"


def preset_values(section: str, name: str) -> str:
    """What each preset sets a config field to, e.g. 'quick 32 (classification, tokens), 24 (regression); full 128
    (classification, regression), 256 (tokens); long 1023' ('' when no preset has the field)."""
    parts = []
    for preset_name, runs in PRESETS.items():
        values: dict[str, list[str]] = {}
        for kind, cfg in runs.items():
            part = getattr(cfg, section)
            if name in part.__dataclass_fields__:
                values.setdefault(shown(getattr(part, name)), []).append(kind)
        if len(values) == 1 and len(next(iter(values.values()))) == len(runs):
            parts.append(f"{preset_name} {next(iter(values))}")
        elif values:
            parts.append(f"{preset_name} " + ", ".join(f"{v} ({', '.join(kinds)})" for v, kinds in values.items()))
    return "; ".join(parts)
