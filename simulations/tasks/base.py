"""The task protocol: everything the simulation engine, the rate fits and the verdicts need to know about a family.

A task family is a frozen dataclass deriving from `Task`: its fields are its configuration (the shared `n_max`,
`train_n_max` and `pool`, then the family's own, such as `dims`), its class attributes say what the verdicts
check, and its methods sample tasks, encode prompts, read the model's outputs and score predictions. The engine
(simulations.problem, evaluate, finetune, train) and the verdicts call only these; none of them tests the kind
by name. Register a subclass with `simulations.register_task` to run it with `simulate`, `rates` and `report`.

Array conventions (one task; vmap adds the leading task axis):
  sample(key, family, latent_key) -> dict with at least
      features [2n+1, feature_dim]  the prompt (simulations.prompts layout: q_0, d_0, ..., q_n)
      target   [n+1]                what the loss compares with the output at q_N (a label, a token id, a value)
      active   []                   what `readout` needs to mask padded outputs (a dimension, a vocabulary size)
    plus the family's own fields (w, x, probs, ...).
  readout(out [..., out_dim], active) -> output      (a logit, log-probabilities, a value)
  loss(output, target) -> per-example training loss
  prediction(output) -> what is scored               (a sign, probabilities, a value)
  truth(task) -> [n+1, ...]                          the clean answer to each query, scored by error(pred, truth)
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import jax
import numpy as np

from theory.errors import InputError

if TYPE_CHECKING:
    from simulations.config import EvalConfig


def documented(default: Any, text: str, *, flag: str | None = None) -> Any:
    """A dataclass field with its documentation (what it does, in which unit): the config reference page
    (docs/config.md) and the command line's help read it from `dataclasses.fields(cls)[i].metadata["doc"]`. With
    `flag` (e.g. "--n-max"), a field of the model, train or eval section or of a built-in family is also that
    shortcut flag of `iclverify simulate` (simulations.fields.shortcuts); a registered family's fields are set with
    `--set task.<field>=<value>`."""
    return dataclasses.field(default=default, metadata={"doc": text} | ({"flag": flag} if flag else {}))


@dataclass(frozen=True)
class RatioCheck:
    """A task-specific verdict: mean(numerator + offset) / mean(denominator + offset) at N = at(params) compared
    with `threshold` (`direction` '<=' or '>='); numerator and denominator are method names in errors.npz.

    Attributes:
        label: the check's name in the verdict rows and the report.
        numerator: the method whose mean error is divided, an errors.npz method name (e.g. "icl_risk").
        denominator: the method it is divided by (e.g. "bayes_floor").
        at: the N at which both are read, from a curve's parameters (e.g. `lambda p: 2 * int(p["d"])`); an N
            above the task's n_max makes the verdict inconclusive.
        threshold: the ratio's bound, in units of the ratio (1: equal errors).
        direction: "<=" (the ratio must stay below the threshold) or ">=" (above it).
        offset: added to both means before dividing, in the metric's units (e.g. a noise variance, to compare
            total errors); default 0.
    """

    label: str
    numerator: str
    denominator: str
    at: Callable[[dict], int]
    threshold: float
    direction: str = "<="
    offset: float = 0.0


@dataclass(frozen=True)
class Task(abc.ABC):
    """Base of every task family: subclass it (a frozen dataclass) and register it (`register_task`).

    Class attributes (ClassVar) say what the family is and what its verdicts test; the methods below sample
    tasks, score predictions and add baselines. Evaluation always draws fresh tasks from the family's prior.

    Attributes:
        n_max: the largest number of in-context examples N evaluated, an integer >= 1 (prompts hold 2 n_max + 1
            tokens).
        train_n_max: train on prompts of this many examples only (length generalization), an integer in
            [1, n_max]; None: n_max.
        pool: pretrain on a finite pool of this many tasks per family (per curve; Raventós et al. 2023), an
            integer >= 1; None: a fresh task every time.
    """

    kind: ClassVar[str]  # the registry name, e.g. "classification"
    metric: ClassVar[str]  # what an error is, for plots and the report, e.g. "0-1 error"
    risk_text: ClassVar[str]  # how the per-task risk is measured, one clause for the report
    size_name: ClassVar[str]  # the parameter the theory scales with: "d", "m*V"
    claim: ClassVar[str]  # what the rate rows test: a catalogue id or a short statement
    exponent: ClassVar[float]  # theory's exponent in N of the mean per-task risk
    bounds: ClassVar[tuple[str, ...]] = ()  # catalogue upper bounds checked at their own N (ids)
    risk: ClassVar[str] = "icl_risk"  # per-task risk behind the mean curve (an errors.npz method name)
    tail: ClassVar[str] = "icl_risk"  # per-task risk in the bounds' metric, for quantiles
    references: ClassVar[tuple[str, ...]] = ()  # baselines fitted beside ICL as the reference; first present wins
    # References whose rate in N is proved, with the proof's source: the rate checks compare ICL with such a
    # reference on the same tasks and count as evidence (falsifiable); against any other they are sanity rows.
    proven: ClassVar[dict[str, str]] = {}
    error_max: ClassVar[float] = 1.0  # the largest error the metric can take (a bound at eps >= it is vacuous)
    # Equivalence margin of ICL against the fine-tuned model, in the metric's units (fixed before data): their
    # mean errors at n_max must differ by less than this for "ICL approximates the fine-tuned model".
    margin: ClassVar[float] = 0.05
    finetune_reference: ClassVar[str | None] = None  # a classical learner the fine-tuned model should match
    secondary_metrics: ClassVar[dict[str, str]] = {}  # suffix -> name of each metric `secondary` returns
    # Baselines whose predictions ICL's are compared with directly, in the task's error (`icl_to_<baseline>` in
    # errors.npz: the prediction-space distance of Raventos et al. 2023 and Akyurek et al. 2022), where present.
    compared: ClassVar[tuple[str, ...]] = ()

    n_max: int = documented(
        32, "largest number of in-context examples N evaluated (prompts of 2 N + 1 tokens)", flag="--n-max"
    )
    train_n_max: int | None = documented(
        None, "examples per training prompt when shorter than n_max (length generalization); none: n_max"
    )
    pool: int | None = documented(
        None,
        "pretrain on a finite pool of this many tasks per curve (task diversity); none: a fresh task per prompt",
        flag="--pool",
    )

    # ---- shapes and curves ----------------------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def curves(self) -> list[dict]:
        """One entry per task-parameter value, in config order: {'d': 4} or {'m': 2, 'V': 4}."""

    @property
    @abc.abstractmethod
    def feature_dim(self) -> int:
        """Size of one prompt token."""

    @property
    @abc.abstractmethod
    def out_dim(self) -> int:
        """Size of the model's output at one position."""

    @abc.abstractmethod
    def size(self, params: dict) -> float:
        """The parameter the theory scales with (d, or m V) of one curve."""

    def size_axes(self, params: dict) -> dict[str, float]:
        """The sizes the theory scales with, one axis each (tokens: {'m': m, 'V': V}); the relative size checks
        fit one exponent per axis along which the curves vary. Default: {size_name: size(params)}."""
        return {self.size_name: self.size(params)}

    @abc.abstractmethod
    def asymptotic_start(self, params: dict) -> int:
        """n_min of the exponent fits: the smallest N taken to be in the asymptotic regime."""

    # ---- sampling and the model's outputs (pure, jit- and vmap-safe) ------------------------------------------
    @abc.abstractmethod
    def sample(self, key: jax.Array, family: jax.Array, latent_key: jax.Array | None = None) -> dict[str, jax.Array]:
        """One task of curve index `family` with n_max + 1 examples and its prompt (see the module docstring).

        latent_key, when given, replaces the key of the task's latent parameters (its w, its laws): a finite
        pool of pretraining tasks draws it from a fixed set while the examples stay fresh.
        """

    @abc.abstractmethod
    def readout(self, out: jax.Array, active: jax.Array) -> jax.Array:
        """The model's outputs [..., out_dim] at the query positions as the family's raw output (a logit,
        log-probabilities, a value), padded entries masked by `active`."""

    @abc.abstractmethod
    def loss(self, output: jax.Array, target: jax.Array) -> jax.Array:
        """The per-example training loss of readout's output against the prompt's target."""

    def prediction(self, output: Any) -> Any:
        """What is scored, from readout's output (numpy or jax)."""
        return output

    @abc.abstractmethod
    def truth(self, task: dict) -> Any:
        """The clean answer to each query q_0..q_n, [n+1, ...] (batched over leading axes)."""

    @abc.abstractmethod
    def error(self, pred: Any, truth: Any) -> Any:
        """Error of predictions against truths, broadcast over leading axes."""

    def secondary(self, pred: Any, truth: Any) -> dict[str, Any]:
        """Other metrics in which ICL and the task's references are also scored, {suffix: errors} (e.g. {'kl':
        ...}); evaluation stores them as '<method>_<suffix>' (and the per-task risks as '<risk>_<suffix>')."""
        return {}

    def disagreement(self, a: Any, b: Any) -> Any:
        """Distance between two predictors' predictions (ICL against fine-tuned)."""
        return self.error(a, b)

    # ---- evaluation -------------------------------------------------------------------------------------------
    def baselines(self, tasks: dict, keys: jax.Array, ev: EvalConfig, pool: dict | None = None) -> dict[str, Any]:
        """Classical predictors on the same prompts: {name: predictions [E, n+1, ...]}, scored by `error`.

        keys: one PRNG key per task [E, 2] (for randomized estimators: a task keeps its key however evaluation
        chunks the tasks); pool: the pretraining pool of this curve (sample() outputs stacked, [pool, ...]) when
        the run has one. Traced: evaluation jits it once per config and calls it on chunks of `ev.chunk` tasks
        (so its device memory is set by that field and sized by simulations.memory)."""
        return {}

    def expected_errors(self, tasks: dict) -> dict[str, Any]:
        """Exact expected errors given each prompt (already scored, not predictions): {name: [E, n+1]}."""
        return {}

    @abc.abstractmethod
    def risk_queries(self, tasks: dict, key: jax.Array, ev: EvalConfig) -> tuple[jax.Array, Any]:
        """Extra queries for the per-task risk, asked after every prefix: (query tokens [E, K, feature_dim],
        their truths [E, K, ...])."""

    def reference_predictions(self, tasks: dict, queries: Any, keys: jax.Array, ev: EvalConfig) -> dict[str, Any]:
        """Reference learners' predictions for the per-task risk's extra queries (risk_queries) after every prefix:
        {learner: [E, n+1, K, ...]}. Evaluation scores them exactly as ICL's (error, risk_summary, secondary) and
        names them after ICL's with the learner for 'icl' (bayes_risk, posterior_mean_risk_max, ...): a reference
        measured on many queries per task is far less noisy than on one. keys: one PRNG key per task [E, 2].
        Traced and chunked like `baselines`."""
        return {}

    def risk_summary(self, errors: np.ndarray, params: dict) -> dict[str, np.ndarray]:
        """Per-task risks from the errors of the extra queries [S, E, n+1, K]: {name: [S, E, n+1]}."""
        return {"icl_risk": errors.mean(-1)}

    def figures(self, metrics: dict, directory: Path, prefix: str) -> list[tuple[str, str]]:
        """Write the family's own figures for a finished run into `directory` (file names starting with
        `prefix`); return (caption, file name) pairs for the report."""
        return []

    def checks(self) -> tuple[RatioCheck, ...]:
        """Task-specific verdicts beyond the generic rate and bound checks."""
        return ()

    # ---- configuration ----------------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        require_int("n_max", self.n_max, 1)
        if self.train_n_max is not None:
            require_int(
                "train_n_max", self.train_n_max, 1, self.n_max, f"an integer in [1, n_max = {self.n_max}] (or None)"
            )
        if self.pool is not None:
            require_int("pool", self.pool, 1, text="an integer >= 1 (or None: no pool)")

    def to_dict(self) -> dict:
        return {"kind": self.kind} | dataclasses.asdict(self)


def require_int(name: str, value: Any, low: int, high: int | None = None, text: str | None = None) -> None:
    """InputError naming the field unless value is an integer (not a bool) in [low, high]."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        what = text or (f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}")
        raise InputError(f"{name} must be {what}; got {value!r}")


def require_real(name: str, value: Any, low: float, high: float = float("inf"), *, open_low: bool = False) -> None:
    """InputError naming the field unless value is a finite real number in [low, high] ((low, high] if open_low)."""
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        try:
            as_float = float(value)  # an integer beyond float64 (10^400) is not a usable real either
        except OverflowError:
            as_float = math.inf
        ok = math.isfinite(as_float) and (as_float > low if open_low else as_float >= low) and as_float <= high
    if not ok:
        bracket = "(" if open_low else "["
        top = "inf)" if high == float("inf") else f"{high:g}]"
        raise InputError(f"{name} must be a real number in {bracket}{low:g}, {top}; got {value!r}")


def tuples(value: Any) -> Any:
    """JSON lists back to the tuples config fields hold (nested)."""
    return tuple(tuples(v) for v in value) if isinstance(value, list) else value
