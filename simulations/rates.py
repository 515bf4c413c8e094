"""Rates from error curves: exponent fits in N, N*(eps), and scaling of N* in d or m*V, with bootstrap intervals.

Input is always a units matrix U [units, len(ns)]: one row per (seed, task), one column per number of examples
N in `ns`, holding that unit's error (run.py writes these to errors.npz). Every statistic is a function of the
mean (or a quantile) over units, and its 95% interval is a percentile bootstrap over units
(scipy.stats.bootstrap); when several curves enter one statistic, each curve's units are resampled on their own.

Fit range (fixed before looking at data): a point N enters an exponent fit when N >= n_min (the start of the
asymptotic regime, given by the task: 2d for halfspaces and regression, m*V for tokens) and its mean error is
resolved: mean >= RESOLVED * (standard error of the mean). A fit needs at least MIN_POINTS points.

N*(eps) is the smallest N whose mean error (or (1 - delta)-quantile error) is <= eps. For scaling fits we use the
crossing, the log-log linear interpolation between the two grid points that bracket eps (continuous, so a
power law in d gives a straight line), extrapolated from the last segment when the curve stays above eps.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

RESOLVED = 5.0  # a point is resolved when its mean is at least this many standard errors above zero
MIN_POINTS = 3
RESAMPLES = 1000
TINY = 1e-12  # floor before taking logs of resampled means


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% bootstrap interval (nan when undefined) and what it was computed from."""

    value: float
    ci: tuple[float, float]
    detail: dict

    def to_dict(self) -> dict:
        return {"estimate": _num(self.value), "ci": [_num(self.ci[0]), _num(self.ci[1])]} | self.detail


def _num(x: float) -> float | None:
    """JSON-safe number: nan and infinities (an unbounded interval end) become None."""
    x = float(x)
    return x if np.isfinite(x) else None


def _bootstrap(statistic: Callable, samples: Sequence[np.ndarray], seed: int, resamples: int) -> tuple[float, float]:
    """95% percentile interval of statistic(*resampled unit-index arrays) (each sample resampled independently)."""
    idx = tuple(np.arange(len(s)) for s in samples)
    # inf resamples (unbounded N*) upset scipy's standard error; nan ends (degenerate data) mean "inconclusive"
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(
            idx,
            lambda *ix, axis=-1: statistic(*ix),
            vectorized=True,
            paired=False,
            n_resamples=resamples,
            method="percentile",
            random_state=np.random.default_rng(seed),
        )
    low, high = res.confidence_interval
    return float(low), float(high)


def _on_units(
    statistic: Callable, units: np.ndarray, seed: int, resamples: int, detail: dict | None = None
) -> Estimate:
    """statistic(units) and its 95% interval from resampling the rows (units) of `units`; statistic must also
    accept a batch of resamples stacked on a leading axis."""
    ci = _bootstrap(lambda ix: statistic(units[ix]), [units], seed, resamples)
    return Estimate(float(statistic(units)), ci, detail or {})


def fit_range(units: np.ndarray, ns: np.ndarray, n_min: int) -> np.ndarray:
    """Boolean mask over ns of the points an exponent fit uses (see the module docstring)."""
    units = np.asarray(units, dtype=np.float64)
    mean = units.mean(0)
    sem = units.std(0, ddof=1) / np.sqrt(units.shape[0])
    return (np.asarray(ns) >= max(n_min, 1)) & (mean > 0) & (mean >= RESOLVED * sem)


def _slopes(means: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Least-squares slope of log(means[..., j]) on x[j], batched over leading axes."""
    y = np.log(np.maximum(means, TINY))
    xc = x - x.mean()
    return ((y - y.mean(-1, keepdims=True)) * xc).sum(-1) / (xc**2).sum()


def exponent(
    units: np.ndarray, ns: Sequence[int], n_min: int, *, seed: int = 0, resamples: int = RESAMPLES
) -> Estimate:
    """Exponent b of mean error ~ a N^b on the fit range, by least squares in log-log, with a bootstrap interval."""
    units, ns = np.asarray(units, dtype=np.float64), np.asarray(ns)
    keep = fit_range(units, ns, n_min)
    sel = ns[keep]
    detail = {"n_range": [int(sel.min()), int(sel.max())] if len(sel) else None, "points": int(keep.sum())}
    if keep.sum() < MIN_POINTS:
        return Estimate(np.nan, (np.nan, np.nan), detail | {"reason": f"fewer than {MIN_POINTS} resolved points"})
    x, sub = np.log(sel), units[:, keep]
    est = _on_units(lambda u: _slopes(u.mean(-2), x), sub, seed, resamples, detail)
    prefactor = float(np.exp(np.log(sub.mean(0)).mean() - est.value * x.mean()))  # a in a N^b, for plots
    return Estimate(est.value, est.ci, detail | {"prefactor": prefactor})


def ratio(units: np.ndarray, top: int, bottom: int, *, seed: int = 0, resamples: int = RESAMPLES) -> Estimate:
    """mean(units[:, top]) / mean(units[:, bottom]) with a bootstrap interval (inf when the bottom mean is 0)."""
    units = np.asarray(units, dtype=np.float64)

    def stat(u: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return u[..., top].mean(-1) / u[..., bottom].mean(-1)

    return _on_units(stat, units, seed, resamples)


def ratio_between(
    top: np.ndarray, bottom: np.ndarray, column: int, *, offset: float = 0.0, seed: int = 0, resamples: int = RESAMPLES
) -> Estimate:
    """(mean(top[:, column]) + offset) / (mean(bottom[:, column]) + offset) for two independent sets of units,
    with a bootstrap interval resampling each set on its own."""
    a = np.asarray(top, dtype=np.float64)[:, column]
    b = np.asarray(bottom, dtype=np.float64)[:, column]

    def stat(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (a[ia].mean(-1) + offset) / (b[ib].mean(-1) + offset)

    ci = _bootstrap(stat, [a, b], seed, resamples)
    value = (a.mean() + offset) / (b.mean() + offset)
    return Estimate(float(value), ci, {"numerator": float(a.mean() + offset), "denominator": float(b.mean() + offset)})


def gain_kept(units: np.ndarray, trained: int, beyond: int, *, seed: int = 0, resamples: int = RESAMPLES) -> Estimate:
    """(mean[0] - mean[beyond]) / (mean[0] - mean[trained]): the in-context gain at N = beyond, as a fraction of
    the gain at the trained length (1: nothing lost past it; above 1: still improving)."""
    units = np.asarray(units, dtype=np.float64)

    def stat(u: np.ndarray) -> np.ndarray:
        m = u.mean(-2)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (m[..., 0] - m[..., beyond]) / (m[..., 0] - m[..., trained])

    return _on_units(stat, units, seed, resamples, {"trained": trained, "beyond": beyond})


def n_star(curve: np.ndarray, ns: Sequence[int], eps: float) -> float:
    """Smallest N in ns with curve[N] <= eps (inf if none). curve [..., len(ns)] is batched."""
    ns = np.asarray(ns, dtype=np.float64)
    hit = np.asarray(curve) <= eps
    first = np.argmax(hit, axis=-1)
    return np.where(hit.any(-1), ns[first], np.inf)


def crossing(curve: np.ndarray, ns: Sequence[int], eps: float) -> np.ndarray:
    """N at which the curve first falls to eps, interpolated in log-log (batched over leading axes).

    Before the first grid point: ns[0]. Never reaching eps: extrapolated along the last segment if it falls,
    else inf.
    """
    ns = np.asarray(ns, dtype=np.float64)
    pos = ns >= 1  # N = 0 has no place on a log axis
    curve = np.maximum(np.asarray(curve, dtype=np.float64)[..., pos], TINY)
    lx, ly, le = np.log(ns[pos]), np.log(curve), np.log(eps)
    hit = ly <= le
    j = np.argmax(hit, axis=-1)
    reached = hit.any(-1)
    j = np.where(reached, j, ly.shape[-1] - 1)
    i = np.maximum(j - 1, 0)
    y0, y1 = np.take_along_axis(ly, i[..., None], -1)[..., 0], np.take_along_axis(ly, j[..., None], -1)[..., 0]
    x0, x1 = lx[i], lx[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(y1 != y0, (le - y0) / (y1 - y0), 0.0)
    out = np.exp(x0 + t * (x1 - x0))
    out = np.where(reached & (j == 0), np.exp(lx[0]), out)
    return np.where(~reached & (y1 >= y0), np.inf, out)


def quantile(units: np.ndarray, level: float, axis: int = 0) -> np.ndarray:
    """The `level` quantile over units (numpy's default linear interpolation)."""
    return np.quantile(units, level, axis=axis)


def quantile_at(units: np.ndarray, column: int, level: float, *, seed: int = 0, resamples: int = RESAMPLES) -> Estimate:
    """The `level` quantile of one column of units, with a bootstrap interval."""
    col = np.asarray(units, dtype=np.float64)[:, column]
    return _on_units(lambda c: np.quantile(c, level, axis=-1), col, seed, resamples)


def n_star_estimate(
    units: np.ndarray,
    ns: Sequence[int],
    eps: float,
    *,
    level: float | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Estimate:
    """N*(eps) of the mean curve (level None) or of the `level`-quantile curve, with a bootstrap interval."""
    units = np.asarray(units, dtype=np.float64)

    def curve(u: np.ndarray) -> np.ndarray:
        return u.mean(-2) if level is None else np.quantile(u, level, axis=-2)

    return _on_units(lambda u: n_star(curve(u), ns, eps), units, seed, resamples)


def eps_grid(curves: Sequence[np.ndarray], ns: Sequence[int], starts: Sequence[int], points: int = 4) -> np.ndarray:
    """Targets eps that every mean curve crosses inside its own fit range [start, n_max]: geometric between the
    highest final error and the lowest error at a range start. Empty when there is no such eps."""
    ns = list(np.asarray(ns))
    hi = min(float(np.asarray(c)[ns.index(s)]) if s in ns else np.nan for c, s in zip(curves, starts, strict=True))
    lo = max(float(np.asarray(c)[-1]) for c in curves)
    if not (np.isfinite(hi) and lo < hi):
        return np.array([])
    return np.geomspace(hi, lo, points + 2)[1:-1]  # interior points: crossings stay inside the ranges


def scaling(
    units_by_size: Sequence[tuple[float, np.ndarray]],
    ns: Sequence[int],
    starts: Sequence[int],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Estimate:
    """Exponent b of N*(eps) ~ size^b (size = d or m*V), pooled over a grid of eps with one intercept per eps.

    units_by_size: (size, units) per curve. N* is the mean curve's crossing (see `crossing`); eps from `eps_grid`.
    """
    sizes = np.log(np.array([s for s, _ in units_by_size], dtype=np.float64))
    samples = [np.asarray(u, dtype=np.float64) for _, u in units_by_size]
    if len(np.unique(sizes)) < 2:
        return Estimate(np.nan, (np.nan, np.nan), {"reason": "needs at least two distinct sizes"})
    grid = eps_grid([u.mean(0) for u in samples], ns, starts)
    detail = {"eps": [float(e) for e in grid], "sizes": [float(s) for s, _ in units_by_size]}
    if len(grid) == 0:
        return Estimate(np.nan, (np.nan, np.nan), detail | {"reason": "no eps is crossed by every curve in range"})

    def slope(*means: np.ndarray) -> np.ndarray:
        # log N*[..., eps, size]; centre per eps (one intercept each), then one pooled slope
        logn = np.stack([np.stack([np.log(crossing(m, ns, e)) for e in grid], -1) for m in means], -1)
        xc = sizes - sizes.mean()
        yc = logn - logn.mean(-1, keepdims=True)
        with np.errstate(invalid="ignore"):
            b = (yc * xc).sum(-1).mean(-1) / (xc**2).sum()
        return np.where(np.isnan(b), np.inf, b)  # a curve that never crosses makes the slope unbounded

    value = float(slope(*(u.mean(0) for u in samples)))
    ci = _bootstrap(
        lambda *ix: slope(*(u[i].mean(-2) for u, i in zip(samples, ix, strict=True))), samples, seed, resamples
    )
    crossings = {str(s): [float(crossing(u.mean(0), ns, e)) for e in grid] for s, u in units_by_size}
    return Estimate(value, ci, detail | {"crossings": crossings})
