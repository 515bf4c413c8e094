"""A bound as a picture: n against eps (log-log) and against its scaling parameter, beside the bounds it is read
against, with the region where a lower bound rises above the claim shaded.

    fig = theory.plot(theory.get("paper.linear-classification"))   # a matplotlib Figure (no pyplot)
    fig.savefig("claim.png")

The bounds drawn with a claim default to its audit references (theory.audit: tight order, explicit upper,
lower); any list of bounds, a user's included, can be passed instead. Other parameters are held at `params`
(default TYPICAL, a GPT-2-sized setting); a universal constant a bound leaves unspecified is set to 1, as in the
bounds table (its curve then shows an order of magnitude, marked '*' in the legend).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from matplotlib.figure import Figure

from theory.bound import Bound, ValidityError
from theory.catalogue import get
from theory.symbols import TYPICAL

SCALING = ("d", "V", "m", "l")  # the first of these a bound uses is its scaling parameter
STYLE = {"upper": "-", "lower": "--"}


def references(bound: Bound) -> list[tuple[Bound, str]]:
    """The bounds a claim is read against, with their roles (theory.audit); none for a bound it does not audit."""
    from theory.audit import entries

    for entry in entries():
        if entry.paper_id == bound.id:
            return [(get(r.bound_id), r.role) for r in entry.references]
    return []


def plot(
    bound: Bound,
    against: Iterable[Bound] | None = None,
    params: Mapping[str, float] | None = None,
    scaling: str | None = None,
) -> Figure:
    """n(eps) on log-log axes and n against `scaling` (default: the first of d, V, m, l the bound uses), for
    `bound` and the bounds `against` (default: its audit references), the others held at `params`. Where a lower
    bound's n exceeds the claim's, the claim promises fewer examples than any learner can use: shaded red."""
    params = dict(TYPICAL if params is None else params)
    others = references(bound) if against is None else [(b, b.kind) for b in against]
    drawn = [(bound, "claim"), *others]
    scaling = scaling or next((p for p in SCALING if any(p in b.parameters for b, _ in drawn)), None)
    panels = ["eps"] + ([scaling] if scaling else [])
    fig = Figure(figsize=(5.2 * len(panels), 4.0), layout="constrained")
    for i, name in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        x = _grid(name, params[name], [b for b, _ in drawn])
        curves = {b.id: _n(b, name, x, params) for b, _ in drawn}
        for b, role in drawn:
            star = "" if b.explicit else "*"
            applies = np.isfinite(curves[b.id]).any()
            label = f"{b.id}{star} ({role})" + ("" if applies else ": does not apply at these parameters")
            ax.plot(x, curves[b.id], STYLE[b.kind], lw=2.4 if b is bound else 1.4, label=label)
        claim = curves[bound.id]
        for b, _ in others:
            if b.kind == "lower":
                below = np.nan_to_num(curves[b.id], nan=-np.inf) > np.nan_to_num(claim, nan=np.inf)
                if below.any():
                    shade = dict(transform=ax.get_xaxis_transform(), color="tab:red", alpha=0.15)
                    ax.fill_between(x, 0, 1, where=below, label=f"claim below {b.id}", **shade)
        ax.set_xscale("log")
        if any(np.isfinite(c).any() for c in curves.values()):
            ax.set_yscale("log")
        used = {k for b, _ in drawn for k in b.parameters}
        held = ", ".join(f"{k} = {v:g}" for k, v in params.items() if k != name and k in used)
        ax.set_xlabel(f"{name}   ({held})" if held else name, fontsize=8)
        ax.set_ylabel("n (examples)")
        ax.grid(True, which="major", alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7)
    fig.suptitle(f"{bound.id}: {bound.title}", fontsize=10)
    return fig


def _grid(name: str, value: float, bounds: list[Bound]) -> np.ndarray:
    if name == "eps":
        top = min([1.0] + [b.eps_max for b in bounds if "eps" in b.parameters])
        return np.geomspace(1e-3, top * (1 - 1e-6), 120)
    return np.unique(np.round(np.geomspace(1, max(10.0, 10 * value), 80)))  # integer parameters


def _n(bound: Bound, name: str, x: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
    """The bound's n at each x (NaN where it does not apply or is invalid); unspecified constants at 1."""
    used = {k: v for k, v in params.items() if k in bound.parameters and k != name}
    used |= {c: 1.0 for c in bound.required_constants}
    out = np.full(x.shape, np.nan)
    for j, value in enumerate(x):
        try:
            value = float(bound.n(**used, **({name: value} if name in bound.parameters else {})))
        except (ValidityError, ValueError, OverflowError):
            continue
        out[j] = value if 0 < value < 1e300 else np.nan  # beyond float range (V^l outcomes): not drawn
    return out
