"""Symbolic sample-complexity bounds: the paper's claims and the textbook bounds to read them against.

>>> import theory
>>> round(theory.get("hoeffding").n(eps=0.1, delta=0.05), 3)
184.444
"""

from theory.bound import Bound, Citation, Condition, MissingConstant, ValidityError
from theory.catalogue import catalogue, get, ids
from theory.compare import Comparison, compare
from theory.derivation import Derivation, Step
from theory.reference import Failure, register_problem, unregister_problem

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


def __getattr__(name: str):
    """theory.plot (theory.figures.plot), imported on first use: matplotlib loads only when a figure is drawn."""
    if name == "plot":
        from theory.figures import plot

        return plot
    raise AttributeError(f"module 'theory' has no attribute {name!r}")
