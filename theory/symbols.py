"""Shared sympy symbols of the parameters every bound is written in (their domains: theory.domains).

Every bound in the catalogue is an expression in the same few symbols, so that two bounds on the same problem can
be compared, divided and plotted against each other without renaming anything.
"""

from __future__ import annotations

import sympy as sp

from theory.domains import DOMAINS, MEANING, TYPICAL, Domain  # noqa: F401 -- re-exported beside the symbols
from theory.errors import InputError  # noqa: F401 -- re-exported (it lives in a module that imports nothing)

eps = sp.Symbol("epsilon", positive=True)  #: accuracy: TV, sup-norm or 0-1 error allowed
delta = sp.Symbol("delta", positive=True)  #: failure probability
m = sp.Symbol("m", positive=True, integer=True)  #: number of contexts
V = sp.Symbol("V", positive=True, integer=True)  #: vocabulary size (number of outcomes)
l = sp.Symbol("l", positive=True, integer=True)  # noqa: E741 -- the paper's output length
d = sp.Symbol("d", positive=True, integer=True)  #: input dimension (VC dimension of homogeneous halfspaces)
n = sp.Symbol("n", positive=True)  #: number of samples (examples)
C = sp.Symbol("C", positive=True)  #: the unspecified constant hidden in a big-O


#: The parameters a user may pass, by the keyword name used in `Bound.n(**params)`.
SYMBOLS: dict[str, sp.Symbol] = {"eps": eps, "delta": delta, "m": m, "V": V, "l": l, "d": d, "n": n}


def name_of(symbol: sp.Symbol) -> str:
    """The keyword name of a shared symbol (eps for epsilon), or the symbol's own name for a constant."""
    for key, sym in SYMBOLS.items():
        if sym == symbol:
            return key
    return symbol.name
