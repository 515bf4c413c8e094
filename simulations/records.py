"""A run's data contract: how errors.npz and metrics.json name, shape and classify what evaluation measured.

Every array of errors.npz and every method of metrics.json belongs to one curve (a task-parameter value, named by
`curve_key`: 'd=4', 'm=2,V=4') and one method; the npz key is '<curve>/<method>' ('d=4/icl_risk'). Methods are
named by what produced them and what they measure (simulations.evaluate writes them, in this order):

    method                         role        shape            what
    icl, icl_<m>                   ICL         [S, T, N+1]      the in-context prediction's error on one query
    <baseline>                     BASELINE    [T, N+1]         a classical learner (or an exact expected error)
    <reference>, <reference>_<m>   REFERENCE   [T, N+1]         a baseline named in Task.references
    <reference>_risk...            REFERENCE   [T_risk, N+1]    its per-task risk (Task.reference_predictions)
    icl_risk, icl_risk_max, ...    ICL         [S, T_risk, N+1] ICL's per-task risk (Task.risk_summary)
    halfway_risk, ...              HALFWAY     [S, T_risk, N+1] the same, of the models at half the training budget
    finetune_risk, ...             FINETUNED   [S, T_ft, G]     the fine-tuned model's, at N in finetune.grid(n_max)
    icl_vs_finetune                FINETUNED   [S, T_ft, G]     ICL's disagreement with the fine-tuned model
    icl_to_<baseline>              DISTANCE    [S, T, N+1]      ICL's prediction-space distance to a baseline

S seeds, T evaluation tasks (T_risk, T_ft: the first of them, for the per-task risk and for fine-tuning), N =
0..n_max examples, G grid points. `<m>` is a secondary metric's suffix (Task.secondary_metrics: '_kl'). metrics.json
holds, beside the run's task, metric, config_hash, n_examples and train_loss, {'curves': [{'params', 'methods':
{method: {'mean', 'ci_low', 'ci_high'[, 'n_examples', 'metric']}}[, 'finetune_settings']}]}: one summary per array
above, in the same order (each method's bootstrap seed is its position within the curve, so a new kind of method is
appended after the others, never inserted).

A run directory's schema version (simulations.config.SCHEMA) covers this contract: a run written under another is
refused by simulations.run.load_run with the schema message, never misread.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from simulations.files import write_npz

SEP = "/"
COMPARED = "icl_to_"  # ICL's prediction-space distance to a baseline (Task.compared)
HALFWAY = "halfway"  # the in-context predictor at half its training budget
FINETUNED = "finetune"  # the fine-tuned model
VERSUS = "icl_vs_finetune"  # ICL's disagreement with the fine-tuned model


class Role(enum.Enum):
    """What produced an array, which fixes its axes: a leading seed axis or not, and N (or the fine-tuning grid)
    last (module docstring)."""

    ICL = "icl"
    HALFWAY = "halfway"
    BASELINE = "baseline"
    REFERENCE = "reference"
    FINETUNED = "fine-tuned"
    DISTANCE = "distance"

    @property
    def per_seed(self) -> bool:
        """Whether the arrays carry a leading seed axis ([S, T, N] rather than [T, N])."""
        return self not in (Role.BASELINE, Role.REFERENCE)


def curve_key(params: Mapping[str, Any]) -> str:
    """'d=4' or 'm=2,V=4': how a curve is named in errors.npz, metrics.json summaries and plots.

    Args:
        params: the curve's task parameters, e.g. {'m': 2, 'V': 4} (Task.curves).
    """
    return ",".join(f"{k}={v}" for k, v in params.items())


def key(params: Mapping[str, Any] | str, method: str) -> str:
    """The errors.npz key of one curve's method: key({'d': 4}, 'icl') == 'd=4/icl'.

    Args:
        params: the curve's task parameters, or its key ('d=4').
        method: the method's name (module docstring).
    """
    return f"{params if isinstance(params, str) else curve_key(params)}{SEP}{method}"


def split(name: str) -> tuple[str, str]:
    """An errors.npz key as (curve, method): 'd=4/icl_risk' -> ('d=4', 'icl_risk').

    Args:
        name: an errors.npz key.

    Raises:
        ValueError: not '<curve>/<method>'.
    """
    curve, sep, method = name.partition(SEP)
    if not sep or not method or SEP in method:
        raise ValueError(f"errors key must be '<curve>{SEP}<method>'; got {name!r}")
    return curve, method


def halfway(risk: str) -> str:
    """The name of a per-task risk at half the training budget: icl_risk -> halfway_risk.

    Args:
        risk: ICL's per-task risk (Task.risk: icl_risk, icl_risk_max, ...).
    """
    return learner(HALFWAY, risk)


def finetuned(risk: str) -> str:
    """The fine-tuned model's name for a per-task risk of the in-context predictor: icl_risk -> finetune_risk.

    Args:
        risk: ICL's per-task risk (Task.risk).
    """
    return learner(FINETUNED, risk)


def learner(name: str, risk: str) -> str:
    """Another learner's name for ICL's per-task risk `risk`: ('bayes', 'icl_risk_max') -> 'bayes_risk_max' (a
    reference; the halfway and fine-tuned models are named the same way).

    Args:
        name: the learner (a key of Task.reference_predictions' output).
        risk: ICL's per-task risk it is scored as.
    """
    return name + risk.removeprefix("icl")


def compared(baseline: str) -> str:
    """ICL's prediction-space distance to `baseline`: 'ridge' -> 'icl_to_ridge'.

    Args:
        baseline: a baseline in Task.compared.
    """
    return COMPARED + baseline


def role(method: str, references: tuple[str, ...] = ()) -> Role:
    """The role of a method name (module docstring), which fixes its array's shape.

    Args:
        method: the method's name.
        references: the task's reference learners (Task.references).
    """
    if method.startswith(COMPARED):
        return Role.DISTANCE
    if method == VERSUS or method.startswith(FINETUNED + "_"):
        return Role.FINETUNED
    if method.startswith(HALFWAY + "_"):
        return Role.HALFWAY
    if method == "icl" or method.startswith("icl_"):
        return Role.ICL
    if any(method == r or method.startswith(r + "_") for r in references):
        return Role.REFERENCE
    return Role.BASELINE


def metric(method: str, secondary: Mapping[str, str]) -> str | None:
    """What a method is scored in when it is not the task's own error, as its metrics.json summary's 'metric' says:
    a secondary metric's suffix ('kl' for 'icl_risk_kl'), 'prediction distance' for ICL's distance to a baseline,
    None for the task's error.

    Args:
        method: the method's name.
        secondary: the task's secondary metrics, {suffix: name} (Task.secondary_metrics).
    """
    if method.startswith(COMPARED):
        return "prediction distance"
    return next((suffix for suffix in secondary if method.endswith(f"_{suffix}")), None)


class Errors(Mapping[str, np.ndarray]):
    """A run's errors.npz: a read-only mapping of keys ('d=4/icl') to arrays, with access by curve and method.

    Args:
        arrays: {key: array}, every key '<curve>/<method>'.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        for name in arrays:
            split(name)
        self._arrays = dict(arrays)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def get_method(self, params: Mapping[str, Any] | str, method: str) -> np.ndarray | None:
        """One curve's array of `method`, or None when the run did not measure it."""
        return self._arrays.get(key(params, method))

    def method(self, params: Mapping[str, Any] | str, method: str) -> np.ndarray:
        """One curve's array of `method`; KeyError naming the key when the run did not measure it."""
        name = key(params, method)
        if name not in self._arrays:
            raise KeyError(f"the run has no {name!r} (it has {', '.join(self._arrays)})")
        return self._arrays[name]

    def has(self, params: Mapping[str, Any] | str, method: str) -> bool:
        return key(params, method) in self._arrays

    def curves(self) -> list[str]:
        """The curve keys, in stored order."""
        return list(dict.fromkeys(split(k)[0] for k in self._arrays))

    def methods(self, params: Mapping[str, Any] | str) -> dict[str, np.ndarray]:
        """One curve's {method: array}, in stored order."""
        curve = params if isinstance(params, str) else curve_key(params)
        out = {}
        for name, values in self._arrays.items():
            c, m = split(name)
            if c == curve:
                out[m] = values
        return out

    @classmethod
    def of_curves(cls, curves: Mapping[str, Mapping[str, np.ndarray]]) -> Errors:
        """From {curve key: {method: array}}."""
        return cls({key(c, m): v for c, methods in curves.items() for m, v in methods.items()})

    @classmethod
    def read(cls, path: Path) -> Errors:
        """An errors.npz as written by `write`."""
        with np.load(path) as npz:
            return cls({k: npz[k] for k in npz.files})

    def write(self, path: Path) -> None:
        """Write errors.npz atomically (simulations.files.write_npz)."""
        write_npz(path, self._arrays)


def summaries(metrics: Mapping[str, Any]) -> Iterator[tuple[str, str, dict]]:
    """Every method summary of a metrics.json, as (curve key, method, {'mean', 'ci_low', 'ci_high', ...}).

    Args:
        metrics: a run's metrics.json, loaded.
    """
    for curve in metrics["curves"]:
        for method, summary in curve["methods"].items():
            yield curve_key(curve["params"]), method, summary
