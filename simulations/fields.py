"""The config fields as users see them: their documentation, each preset's value, the command line's spelling of
a value, and `--set section.field=value` assignments."""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from simulations.config import EvalConfig, ModelConfig, TrainConfig
from simulations.presets import PRESETS
from simulations.tasks import Halfspaces, LinearRegression, NextToken
from theory.errors import InputError


def assignments(texts: Sequence[str]) -> dict[str, object]:
    """`--set` assignments as {'section.field': value}, for RunConfig.assign: `train.warmup=500`,
    `model.width=128`, `task.dims=[2,4]`, `eval.finetune_lrs=[1e-3]`, `seed=3`. Each value is parsed as JSON,
    else taken as a bare string (`model.positions=rope`); a later assignment to the same name wins.

    Args:
        texts: strings `section.field=value` (or `seed=value`).

    Raises:
        InputError: an assignment without `=` or with an empty value.
    """
    values = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        if not sep or not raw.strip():
            raise InputError(f"--set takes section.field=value (e.g. train.warmup=500); got {text!r}")
        values[key.strip()] = _value(raw)
    return values


def _value(raw: str):
    """A --set value: JSON (numbers, true/false, null, lists), else the bare string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip()


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


@dataclass(frozen=True)
class Shortcut:
    """A `simulate` flag for a config field documented with one (simulations.tasks.base.documented(..., flag=)).

    Attributes:
        flag: the option, e.g. '--n-max'.
        section: task, model, train or eval.
        name: the field.
        kind: how a value is written: int, float, bool, ints (2,4,8), pairs (2x4,4x8) or choice.
        choices: the values of a choice (a Literal field).
    """

    flag: str
    section: str
    name: str
    kind: str
    choices: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        """The flag's attribute on the parsed arguments: '--eval-tasks' -> 'eval_tasks'."""
        return self.flag.removeprefix("--").replace("-", "_")


_KINDS = {
    "int": "int",
    "int | None": "int",
    "float": "float",
    "bool": "bool",
    "tuple[int, ...]": "ints",
    "tuple[tuple[int, int], ...]": "pairs",
}


def _shortcut(section: str, f: dataclasses.Field) -> Shortcut:
    annotation = str(f.type)
    if annotation.startswith("Literal["):
        return Shortcut(f.metadata["flag"], section, f.name, "choice", tuple(ast.literal_eval(annotation[7:])))
    if annotation not in _KINDS:
        raise TypeError(f"{section}.{f.name}: a flag for a field of type {annotation} (known: {', '.join(_KINDS)})")
    return Shortcut(f.metadata["flag"], section, f.name, _KINDS[annotation])


@functools.cache
def shortcuts() -> tuple[Shortcut, ...]:
    """`simulate`'s shortcut flags, one per field documented with a flag: the built-in families' task fields (one flag
    for a field several families share), then the model, train and eval fields, in declaration order."""
    fields = [("task", f) for cls in BUILT_IN.values() for f in dataclasses.fields(cls)]
    fields += [(section, f) for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    out = {f.metadata["flag"]: _shortcut(section, f) for section, f in fields if "flag" in f.metadata}
    return tuple(out.values())
