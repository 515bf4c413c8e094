"""Rows of the bounds table, shared by `iclverify bounds` and the report."""

from __future__ import annotations

import math

import theory
from theory.symbols import TYPICAL

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
        row["n"] = float(bound.n(**used))
    except theory.ValidityError as err:
        row["note"] = str(err)
    except theory.MissingConstant:
        names = ", ".join(bound.required_constants)
        row["note"] = f"order only: {names} is a universal constant with no value known to be valid (pass it)"
    if row["n"] is not None and not bound.explicit:
        consts = ", ".join(f"{c.name} = {v:g}" for c, v in bound.constants.items())
        row["note"] = f"unspecified constant; evaluated at {consts} (order of magnitude only)"
    return row


def fmt_n(value: float | None) -> str:
    """A sample size as its ceiling with thousands separators ('-' for none; scientific beyond 10^15)."""
    if value is None:
        return "-"
    whole = math.ceil(value)
    return f"{whole:,}" if whole < 10**15 else f"{value:.3e}"
