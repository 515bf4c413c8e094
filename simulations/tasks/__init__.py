"""Task families as plug-ins: the built-in ones and the registry a user's family joins.

    from simulations.tasks import Task, register_task

    @register_task
    @dataclass(frozen=True)
    class MyFamily(Task):
        kind: ClassVar[str] = "my-family"
        ...

Families installed by another package are found through the entry-point group `iclverify.tasks` (each entry
point names a `Task` subclass), so that the command line can run them too.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from simulations.tasks.base import RatioCheck, Task, tuples
from simulations.tasks.classification import Halfspaces
from simulations.tasks.regression import LinearRegression
from simulations.tasks.tokens import NextToken
from theory.errors import InputError

ENTRY_POINTS = "iclverify.tasks"
# the class attributes every family must set (Task declares them without a value)
REQUIRED = ("kind", "metric", "risk_text", "size_name", "claim", "exponent")
_REGISTRY: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Make a Task subclass runnable by name (its `kind`); usable as a class decorator. Re-registering the same
    kind replaces it (convenient in notebooks). A TypeError names what the class lacks: a required class attribute
    (REQUIRED) or a hook `Task` declares abstract (sample, error, risk_queries, ...)."""
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"register_task takes a subclass of simulations.tasks.Task; got {cls!r}")
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"{cls.__name__} needs a class attribute kind: ClassVar[str] (its registry name)")
    missing = [name for name in REQUIRED if not hasattr(cls, name)]
    if missing:
        raise TypeError(f"{cls.__name__} needs the class attribute(s) {', '.join(missing)} (simulations.tasks.Task)")
    if cls.__abstractmethods__:
        hooks = ", ".join(sorted(cls.__abstractmethods__))
        raise TypeError(f"{cls.__name__} does not define the Task hook(s) {hooks} (simulations.tasks.Task)")
    _REGISTRY[kind] = cls
    return cls


for _cls in (Halfspaces, NextToken, LinearRegression):
    register_task(_cls)


def _load_entry_points() -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINTS):
        if ep.name not in _REGISTRY:
            register_task(ep.load())


def task_kinds() -> list[str]:
    """Registered kinds: the built-in families, entry points, and anything passed to register_task."""
    _load_entry_points()
    return list(_REGISTRY)


def get_task(kind: str) -> type[Task]:
    """The registered Task subclass of `kind`; a kind not yet registered is looked up among the installed entry
    points (group `iclverify.tasks`) first.

    Args:
        kind: the family's registry name (its `kind` class attribute, e.g. "classification").

    Returns:
        The Task subclass.

    Raises:
        InputError: an unknown kind (a ValueError listing the known kinds).
    """
    if kind not in _REGISTRY:
        _load_entry_points()
    if kind not in _REGISTRY:
        known = ", ".join(_REGISTRY)
        raise InputError(f"task must be one of {known} (or a kind passed to register_task); got {kind!r}")
    return _REGISTRY[kind]


def make_task(kind: str, **fields: Any) -> Task:
    """An instance of the registered family `kind`.

    Args:
        kind: the family's registry name (e.g. "classification", "tokens", "regression").
        **fields: the family's dataclass fields (n_max, train_n_max, pool, then its own, e.g. dims); JSON lists
            are turned into tuples; a field left out keeps its default.

    Returns:
        The task (frozen).

    Raises:
        InputError: an unknown kind, an unknown field (a ValueError naming the valid ones), or a value out of its
            range (naming the field).
    """
    cls = get_task(kind)
    names = {f.name for f in cls.__dataclass_fields__.values() if f.init}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise InputError(f"{kind} tasks have no field {', '.join(unknown)}; fields: {', '.join(sorted(names))}")
    return cls(**{k: tuples(v) for k, v in fields.items()})


__all__ = [
    "Halfspaces",
    "LinearRegression",
    "NextToken",
    "RatioCheck",
    "Task",
    "get_task",
    "make_task",
    "register_task",
    "task_kinds",
]
