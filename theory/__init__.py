"""Symbolic sample-complexity bounds: the paper's claims and the textbook bounds to read them against.

>>> import theory
>>> round(theory.get("hoeffding").n(eps=0.1, delta=0.05), 3)
184.444
"""

import sys
import types

from theory import lazy

# Where each public name lives: imported on first use, so that `import theory.errors` (or a module that needs only
# the parameter domains) does not load sympy and the whole catalogue.
_HOME = {
    "Bound": "theory.bound",
    "Citation": "theory.bound",
    "Condition": "theory.bound",
    "MissingConstant": "theory.bound",
    "ValidityError": "theory.bound",
    "catalogue": "theory.catalogue",
    "get": "theory.catalogue",
    "ids": "theory.catalogue",
    "Comparison": "theory.compare",
    "compare": "theory.compare",
    "Derivation": "theory.derivation",
    "Step": "theory.derivation",
    "Failure": "theory.reference",
    "register_problem": "theory.reference",
    "unregister_problem": "theory.reference",
    "plot": "theory.figures",  # matplotlib loads only when a figure is drawn
}

__all__ = [
    "Bound",
    "Citation",
    "Comparison",
    "Condition",
    "Derivation",
    "Failure",
    "MissingConstant",
    "Step",
    "ValidityError",
    "catalogue",
    "compare",
    "get",
    "ids",
    "plot",
    "register_problem",
    "unregister_problem",
]


class _Package(types.ModuleType):
    """This package's module type: `catalogue` and `compare` are functions named like the submodules that hold them,
    and importing such a submodule must not rebind the public name to the module (the import system sets the
    submodule as an attribute of its package)."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _HOME.get(name) == f"{self.__name__}.{name}":
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    """A public name (or a submodule, `theory.audit`), imported on first use."""
    return lazy.attribute(__name__, _HOME, globals(), name)
