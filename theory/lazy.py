"""Packages that import their public names on first use (a module-level `__getattr__`, PEP 562), so that importing
one light submodule (theory.errors, simulations.rates) does not load the package's heavy dependencies."""

from __future__ import annotations

import importlib


def attribute(package: str, home: dict[str, str], namespace: dict, name: str) -> object:
    """`package.name` on first use: a public name from the module `home[name]` (kept in the package's
    `namespace`), or a submodule; AttributeError for anything else."""
    if name in home:
        value = getattr(importlib.import_module(home[name]), name)
        namespace[name] = value
        return value
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"{package}.{name}":  # the submodule exists but needs a missing package
            raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
