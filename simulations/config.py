"""A run's configuration: frozen dataclasses that validate their fields, and the hash that names a run directory.

The presets are in simulations.presets; the fields as the command line and the docs show them (their
documentation, the presets' values, `--set` parsing) in simulations.fields."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from simulations.tasks import Task, make_task
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

    depth: int = documented(3, "pre-norm transformer blocks", flag="--depth")
    width: int = documented(64, "model width (residual stream), a multiple of heads", flag="--width")
    heads: int = documented(4, "attention heads per block (head width = width / heads; even with rope)", flag="--heads")
    mlp_ratio: int = documented(4, "MLP hidden width as a multiple of width")
    positions: Literal["learned", "rope", "none"] = documented(
        "learned",
        "position encoding: learned (a table over the longest prompt), rope (rotary, Su et al. 2021) or none (no "
        "position information: a bidirectional encoder is then a function of the set of its tokens)",
        flag="--positions",
    )
    attention: Literal["causal", "bidirectional"] = documented(
        "causal",
        "causal (a decoder: every prefix in one pass) or bidirectional (an encoder: one pass per prefix)",
        flag="--attention",
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

    steps: int = documented(3000, "optimizer steps (AdamW)", flag="--steps")
    batch: int = documented(64, "fresh prompts per step, per seed", flag="--batch")
    lr: float = documented(
        1e-3, "peak learning rate, after warmup; cosine decay to lr / 100 at the last step", flag="--lr"
    )
    warmup: int = documented(200, "steps of linear learning-rate warm-up from 0")
    weight_decay: float = documented(0.01, "AdamW's decoupled weight decay, per unit learning rate")
    clip: float = documented(1.0, "gradients clipped to this global L2 norm")
    seeds: int = documented(
        2, "independently initialised models trained together (vmapped; sharded on devices)", flag="--seeds"
    )
    checkpoint_every: int = documented(500, "steps between atomic checkpoints (a killed run resumes from the last)")
    curriculum: bool = documented(
        False, "grow the number of families trained on (the active dimension, for dims)", flag="--curriculum"
    )
    curriculum_examples: bool = documented(
        False, "grow the number of in-context examples trained on (Garg et al. 2022)", flag="--curriculum-examples"
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

    tasks: int = documented(512, "held-out tasks per curve, fresh from the prior", flag="--eval-tasks")
    bootstrap: int = documented(1000, "bootstrap resamples per 95% interval (seeds and tasks resampled)")
    finetune_tasks: int = documented(
        128, "risk tasks on which the fine-tuned model is scored (0: no fine-tuning)", flag="--finetune-tasks"
    )
    finetune_steps: int = documented(
        50, "Adam steps of the longest fine-tuning run (read at a quarter, half and all of it)"
    )
    finetune_lrs: tuple[float, ...] = documented((3e-4, 1e-3, 3e-3), "fine-tuning learning rates tried per N")
    finetune_validation: int = documented(
        8, "validation tasks per curve on which each N's fine-tuning learning rate and steps are chosen"
    )
    risk_tasks: int = documented(
        256,
        "first tasks whose per-task risk (error over many queries, or over every context) is measured",
        flag="--risk-tasks",
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


def code_version() -> dict[str, str | int]:
    """What computed a run: the installed package's version and the evaluation schema (SCHEMA)."""
    try:
        version = importlib.metadata.version("iclverify")
    except importlib.metadata.PackageNotFoundError:  # a source tree that is not installed
        version = "unknown"
    return {"iclverify_version": version, "schema": SCHEMA}
