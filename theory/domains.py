"""The valid range and meaning of every parameter a bound is written in (eps, delta, m, V, l, d, n), without
sympy: the command line validates and describes parameters from here before any bound is loaded."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from theory.errors import InputError


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


#: The valid range of each parameter, by the keyword name used in `Bound.n(**params)`.
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
