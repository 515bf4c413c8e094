"""Shared sympy symbols and the domains of the parameters every bound is written in.

Every bound in the catalogue is an expression in the same few symbols, so that two bounds on the same problem can
be compared, divided and plotted against each other without renaming anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

eps = sp.Symbol("epsilon", positive=True)  #: accuracy: TV, sup-norm or 0-1 error allowed
delta = sp.Symbol("delta", positive=True)  #: failure probability
m = sp.Symbol("m", positive=True, integer=True)  #: number of contexts
V = sp.Symbol("V", positive=True, integer=True)  #: vocabulary size (number of outcomes)
l = sp.Symbol("l", positive=True, integer=True)  # noqa: E741 -- the paper's output length
d = sp.Symbol("d", positive=True, integer=True)  #: input dimension (VC dimension of homogeneous halfspaces)
n = sp.Symbol("n", positive=True)  #: number of samples (examples)
C = sp.Symbol("C", positive=True)  #: the unspecified constant hidden in a big-O


class InputError(ValueError):
    """An argument outside its valid range or set (a parameter, a config field, a file that is not a run): the
    message names it and what is valid. The command line reports these in one line with exit status 2; any other
    exception is a bug, exit status 1."""


@dataclass(frozen=True)
class Domain:
    """The valid range of one parameter: a real interval, open or closed at each end, or integers >= low."""

    name: str
    low: float
    high: float = math.inf
    low_open: bool = True
    high_open: bool = True
    integer: bool = False

    def describe(self) -> str:
        if self.integer:
            return f"an integer >= {self.low:g}"
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        high = "inf" if math.isinf(self.high) else f"{self.high:g}"
        return f"a real number in {lo}{self.low:g}, {high}{hi}"

    def validate(self, value: object) -> np.ndarray:
        """Return `value` as a float64 array, or raise ValueError naming the parameter and its valid range."""
        where = f"{self.name} must be {self.describe()}"
        if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
            raise InputError(f"{where}; got {value!r}")
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{where}; got {value!r}") from None
        if arr.size == 0:
            raise InputError(f"{where}; got an empty array")
        bad = ~np.isfinite(arr)
        bad |= (arr <= self.low) if self.low_open else (arr < self.low)
        bad |= (arr >= self.high) if self.high_open else (arr > self.high)
        if self.integer:
            bad |= arr != np.round(arr)
        if bad.any():
            raise InputError(f"{where}; got {arr[bad].flat[0].item()!r}")
        return arr


#: The parameters a user may pass, by the keyword name used in `Bound.n(**params)`.
SYMBOLS: dict[str, sp.Symbol] = {"eps": eps, "delta": delta, "m": m, "V": V, "l": l, "d": d, "n": n}

DOMAINS: dict[str, Domain] = {
    "eps": Domain("eps", 0.0, 1.0),
    "delta": Domain("delta", 0.0, 1.0),
    "m": Domain("m", 1.0, low_open=False, integer=True),
    "V": Domain("V", 1.0, low_open=False, integer=True),
    "l": Domain("l", 1.0, low_open=False, integer=True),
    "d": Domain("d", 1.0, low_open=False, integer=True),
    "n": Domain("n", 0.0),
}

#: The parameters tables and figures are shown at by default: a GPT-2-sized setting (V = 50000, d = 768).
TYPICAL: dict[str, float] = {"eps": 0.05, "delta": 0.05, "m": 100, "V": 50000, "l": 100, "d": 768}

#: What each parameter means, for tables and docs.
MEANING: dict[str, str] = {
    "eps": "accuracy (distance or excess error allowed)",
    "delta": "failure probability",
    "m": "number of contexts",
    "V": "vocabulary size / number of outcomes",
    "l": "output length in tokens",
    "d": "input dimension (VC dimension of homogeneous halfspaces)",
    "n": "number of examples",
}


def name_of(symbol: sp.Symbol) -> str:
    """The keyword name of a shared symbol (eps for epsilon), or the symbol's own name for a constant."""
    for key, sym in SYMBOLS.items():
        if sym == symbol:
            return key
    return symbol.name
