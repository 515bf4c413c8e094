"""Rows of the bounds table, shared by `iclverify bounds` and the report."""

from __future__ import annotations

import math

import theory
from theory.domains import TYPICAL

# The parameters tables are shown at (`iclverify bounds`, the report, the generated docs): a GPT-2-sized setting.
DEFAULTS: dict[str, float] = TYPICAL


def bound_row(bound: theory.Bound, params: dict[str, float]) -> dict:
    """One bound at `params` (those it does not use are ignored): its n, or a note saying why there is none."""
    used = {k: v for k, v in params.items() if k in bound.parameters}
    row = {
        "id": bound.id,
        "title": bound.title,
        "kind": bound.kind,
        "source": bound.source,
        "metric": bound.metric,
        "n": None,
        "order": bound.order_text,
        "latex": bound.latex(),
        "citation": str(bound.citation),
    }
    try:
        row["n"], log10 = bound.magnitude(**used)
        if row["n"] is None:  # beyond float64: its magnitude, exactly (JSON has no infinity)
            row["n_log10"] = log10
            row["note"] = f"n = {fmt_n(None, log10)}: beyond the largest float (1.8e308)"
    except theory.ValidityError as err:
        row["note"] = str(err)
    except theory.MissingConstant:
        names = ", ".join(bound.required_constants)
        row["note"] = f"order only: {names} is a universal constant with no value known to be valid (pass it)"
    if (row["n"] is not None or "n_log10" in row) and not bound.explicit:
        consts = ", ".join(f"{c.name} = {v:g}" for c, v in bound.constants.items())
        unspecified = f"unspecified constant; evaluated at {consts} (order of magnitude only)"
        row["note"] = f"{row['note']}; {unspecified}" if "note" in row else unspecified
    return row


def fmt_n(value: float | None, log10: float | None = None) -> str:
    """A sample size as its ceiling with thousands separators (scientific beyond 10^15; from its `log10` beyond
    float64, e.g. 1.25e+604; '-' for none)."""
    if log10 is not None:
        if not math.isfinite(log10):
            return "beyond 10^(1.8e308)"
        exponent = math.floor(log10)
        mantissa = round(10 ** (log10 - exponent), 3)
        if mantissa >= 10:  # 9.9996... rounds up to the next power of ten
            mantissa, exponent = mantissa / 10, exponent + 1
        return f"{mantissa:.3f}e+{exponent}"
    if value is None:
        return "-"
    whole = math.ceil(value)
    return f"{whole:,}" if whole < 10**15 else f"{value:.3e}"
