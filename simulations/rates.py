"""Rates from error curves: exponent fits in N, N*(eps), and scaling of N* in d or m*V, with bootstrap intervals.

Input is an error array per curve, E [S, T, N]: S seeds (independently trained models), T held-out tasks shared
by every seed, one column per number of examples N in `ns` (run.py writes these to errors.npz). Baselines have no
seed axis and are read as [1, T, N]. Every statistic is a function of the mean curve (or of a quantile over
the S x T units), and its 95% interval is a percentile bootstrap that respects the crossed design:

Two-stage ("pigeonhole") bootstrap for crossed factors (Owen 2007, Ann. Appl. Stat. 1(2) 386-411): each resample
draws S seeds and T tasks with replacement, independently, and keeps every (seed, task) pair of the draw, so that
model-to-model variance and task-to-task variance both enter the interval; Owen shows the resulting variance is
mildly conservative (it counts the seed x task interaction more than once). Seed-level deviations are inflated by
sqrt(S / (S - 1)) before the seed draw, which undoes the bootstrap's shrinkage with few seeds (`resampled_means`).
Curves of one run share their models, so the curves entering one statistic share the seed draw; their tasks are
drawn per curve, or jointly when two arrays hold the same tasks (paired: ICL against a baseline, or against the
fine-tuned model).

Fit range (fixed by the config, before data): an exponent is fitted on `fit_points(n_min, n_max)`, N log-spaced
from the start of the asymptotic regime (given by the task: 2d for halfspaces and regression, m*V for tokens) to
n_max, so that every octave of N weighs the same. A fit needs n_max >= 2 n_min, and every point's mean error must
be resolved, mean >= RESOLVED standard errors (the bootstrap's); otherwise the estimate is nan with the reason.

N*(eps) is the smallest N whose mean (or (1 - delta)-quantile) error is <= eps. The scaling of N* with the size
(d, m V) comes from one power law in N and the size fitted to every curve on its fit points (see `scaling`); the
crossings of the mean curves (log-log interpolation between the grid points that bracket eps) are kept beside it
as a model-free view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from theory.errors import InputError

RESOLVED = 5.0  # a point is resolved when its mean is at least this many standard errors above zero
PER_OCTAVE = 4  # fit points per doubling of N
RESAMPLES = 1000
TINY = 1e-12  # floor before taking logs of resampled means
CHUNK = 64  # resamples materialized at once by statistics of whole units (quantiles)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% bootstrap interval (nan when undefined) and what it was computed from.

    Attributes:
        value: the point estimate, in the statistic's units (an exponent, an N, an error, a ratio); nan when it could
            not be computed.
        ci: its percentile-bootstrap interval (low, high), 95% unless `detail["level"]` says otherwise; an end may
            be infinite (e.g. an N*(eps) never reached), both are nan when undefined.
        detail: what it was computed from (fit range, per-seed values, `reason` when undefined, ...); merged into
            `to_dict()`.
    """

    value: float
    ci: tuple[float, float]
    detail: dict

    def to_dict(self) -> dict:
        return {"estimate": _num(self.value), "ci": [_num(self.ci[0]), _num(self.ci[1])]} | self.detail


def undefined(reason: str, **detail) -> Estimate:
    """An estimate that could not be computed, and why."""
    return Estimate(np.nan, (np.nan, np.nan), detail | {"reason": reason})


def _num(x: float) -> float | None:
    """JSON-safe number: nan and infinities (an unbounded interval end) become None."""
    x = float(x)
    return x if np.isfinite(x) else None


def as_units(errors: np.ndarray) -> np.ndarray:
    """Errors as [S, T, N] float64: a baseline's [T, N] gains a seed axis of one."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim == 2:
        return errors[None]
    if errors.ndim != 3:
        raise InputError(f"errors must be [seeds, tasks, N] or [tasks, N]; got shape {errors.shape}")
    return errors


# ---- the two-stage bootstrap ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Draw:
    """Index draws of one resampling: seeds [B, S] (shared by every array) and tasks [B, T] per array."""

    seeds: np.ndarray
    tasks: tuple[np.ndarray, ...]


def draw(arrays: Sequence[np.ndarray], seed: int, resamples: int, *, paired: bool = False) -> Draw:
    """Resample seeds once for all arrays (arrays with one seed keep it) and tasks per array, or once when paired."""
    rng = np.random.default_rng(seed)
    n_seeds = max(a.shape[0] for a in arrays)
    seeds = rng.integers(0, n_seeds, size=(resamples, n_seeds))
    if paired:
        (n_tasks,) = {a.shape[1] for a in arrays}
        shared = rng.integers(0, n_tasks, size=(resamples, n_tasks))
        return Draw(seeds, tuple(shared for _ in arrays))
    return Draw(seeds, tuple(rng.integers(0, a.shape[1], size=(resamples, a.shape[1])) for a in arrays))


def _weights(idx: np.ndarray, size: int) -> np.ndarray:
    """How often each index occurs in each row of idx, as a fraction: [B, size]."""
    rows = idx.shape[0]
    flat = (idx + size * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * size).reshape(rows, size) / idx.shape[1]


def resampled_means(u: np.ndarray, seeds: np.ndarray, tasks: np.ndarray, wt: np.ndarray | None = None) -> np.ndarray:
    """Mean curves [B, N] of array u [S, T, N] under the draws (one matrix product, nothing materialized); wt: the
    task draw's weights (`_weights(tasks, T)`) when already computed.

    Resampling S seeds from S shrinks the seed-level variance by (S - 1) / S (a factor 2 with two seeds), so
    each seed's deviation from the mean over seeds is inflated by sqrt(S / (S - 1)) before the seeds are drawn
    (Davison & Hinkley 1997, Bootstrap Methods and their Application, section 3.8, for two-stage data)."""
    wt = _weights(tasks, u.shape[1]) if wt is None else wt
    S, T, N = u.shape
    per_seed = (wt @ u.transpose(1, 0, 2).reshape(T, S * N)).reshape(-1, S, N)  # one BLAS product
    if S == 1:
        return per_seed[:, 0]
    centre = per_seed.mean(1, keepdims=True)
    # inflated means stay inside the data's range (an error rate cannot become negative)
    per_seed = np.clip(centre + np.sqrt(S / (S - 1)) * (per_seed - centre), u.min(), u.max())
    return np.einsum("bs,bsn->bn", _weights(seeds, S), per_seed)


def _interval(values: np.ndarray, level: float = 0.95, axis: int | None = None):
    """Percentile interval of resampled statistics over `axis` (order statistics: an unbounded end stays inf);
    nan when a resample is undefined."""
    values = np.asarray(values, dtype=np.float64)
    tail = round((1 - level) / 2, 12)  # 0.025 for 95%, not 0.025000000000000022: order statistics are exact
    low, high = np.quantile(values, [tail, 1 - tail], axis=axis, method="inverted_cdf")
    if axis is None:
        return (np.nan, np.nan) if np.isnan(values).any() else (float(low), float(high))
    return low, high


def bootstrap_means(
    statistic: Callable[..., np.ndarray],
    arrays: Sequence[np.ndarray],
    *,
    seed: int,
    resamples: int,
    paired: bool = False,
    detail: dict | None = None,
    level: float = 0.95,
) -> Estimate:
    """statistic(*mean curves) with its `level` two-stage bootstrap interval; statistic takes mean curves
    [..., N] (one per array, batched over resamples on the leading axis)."""
    arrays = [as_units(a) for a in arrays]
    value = float(statistic(*(a.mean((0, 1)) for a in arrays)))
    d = draw(arrays, seed, resamples, paired=paired)
    means = [resampled_means(a, d.seeds[:, : a.shape[0]], t) for a, t in zip(arrays, d.tasks, strict=True)]
    with np.errstate(divide="ignore", invalid="ignore"):
        values = statistic(*means)
    return Estimate(value, _interval(values, level), detail or {})


def standard_error(u: np.ndarray, *, seed: int = 0, resamples: int = RESAMPLES) -> np.ndarray:
    """The two-stage bootstrap's standard error of the mean curve of u [S, T, N], per N."""
    u = as_units(u)
    d = draw([u], seed, resamples)
    return resampled_means(u, d.seeds, d.tasks[0]).std(0, ddof=1)


def mean_interval(u: np.ndarray, *, seed: int = 0, resamples: int = RESAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """95% two-stage bootstrap interval of the mean curve of u [S, T, N] (or [T, N]), per N.

    Args:
        u: per-unit errors [S, T, N] (seeds, tasks, one column per N), or a baseline's [T, N].
        seed: seed of the resampling of seeds and tasks (numpy Generator).
        resamples: bootstrap resamples, >= 1.

    Returns:
        (low, high), each [N]; both are the mean curve itself when there is a single (seed, task) unit.

    Raises:
        InputError: u is neither [S, T, N] nor [T, N].
    """
    u = as_units(u)
    if u.shape[0] * u.shape[1] < 2:
        mean = u.mean((0, 1))
        return mean, mean
    d = draw([u], seed, resamples)
    return _interval(resampled_means(u, d.seeds, d.tasks[0]), axis=0)


def bootstrap_units(
    statistic: Callable[[np.ndarray], np.ndarray], u: np.ndarray, *, seed: int, resamples: int
) -> Estimate:
    """statistic(units [..., S*T, N]) (e.g. a quantile over units) with its two-stage bootstrap interval; the
    resampled arrays are materialized CHUNK resamples at a time."""
    u = as_units(u)
    S, T, N = u.shape
    value = float(statistic(u.reshape(S * T, N)))
    d = draw([u], seed, resamples)
    values = []
    for start in range(0, resamples, CHUNK):
        si, ti = d.seeds[start : start + CHUNK], d.tasks[0][start : start + CHUNK]
        block = u[si[:, :, None], ti[:, None, :]]  # [b, S, T, N]
        values.append(statistic(block.reshape(len(si), S * T, N)))
    return Estimate(value, _interval(np.concatenate(values)), {})


# ---- exponents ----------------------------------------------------------------------------------------------------
def fit_points(n_min: int, n_max: int, per_octave: int = PER_OCTAVE) -> np.ndarray:
    """The N an exponent is fitted on: log-spaced integers from n_min to n_max, per_octave per doubling.

    Args:
        n_min: the smallest N, the start of the asymptotic regime (Task.asymptotic_start); values below 1 count as 1.
        n_max: the largest N (the run's n_max).
        per_octave: points per doubling of N, > 0 (PER_OCTAVE = 4).

    Returns:
        The sorted distinct integers in [n_min, n_max], int [P] (fewer than requested where rounding merges
        points); empty when n_max <= n_min.
    """
    n_min = max(int(n_min), 1)
    if n_max <= n_min:
        return np.array([], dtype=int)
    count = int(np.ceil(per_octave * np.log2(n_max / n_min))) + 1
    return np.unique(np.round(np.geomspace(n_min, n_max, count)).astype(int))


def _slopes(means: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Least-squares slope of log(means[..., j]) on x[j], batched over leading axes."""
    y = np.log(np.maximum(means, TINY))
    xc = x - x.mean()
    return ((y - y.mean(-1, keepdims=True)) * xc).sum(-1) / (xc**2).sum()


def exponent(
    errors: np.ndarray, ns: Sequence[int], n_min: int, *, seed: int = 0, resamples: int = RESAMPLES
) -> Estimate:
    """Exponent b of mean error ~ a N^b, fitted by least squares in log-log on fit_points(n_min, max(ns)).

    The interval is the two-stage bootstrap's; detail holds each seed's own fit ('per_seed') beside the pooled one.

    Args:
        errors: per-unit errors [S, T, len(ns)] (seeds, tasks, N = ns), or a baseline's [T, len(ns)]; >= 0.
        ns: the N of the last axis, increasing and containing every fit point (0..n_max in a run).
        n_min: where the fit starts (Task.asymptotic_start), >= 1; the fit needs max(ns) >= 2 n_min.
        seed: the bootstrap's seed; seed + 1 seeds the standard errors of the resolution check.
        resamples: bootstrap resamples, >= 2.

    Returns:
        b with its interval; detail: n_range, points, prefactor (a), per_seed. Undefined (nan, with the reason)
        when the fit range spans less than a factor of 2 or a fit point's mean error is not resolved from 0
        (mean < RESOLVED bootstrap standard errors).

    Raises:
        InputError: errors is neither [S, T, N] nor [T, N].
    """
    u, ns = as_units(errors), np.asarray(ns)
    points = fit_points(n_min, int(ns[-1]))
    detail = {"n_range": [int(points[0]), int(points[-1])] if len(points) else None, "points": len(points)}
    if len(points) < 3 or points[-1] < 2 * points[0]:
        return undefined(f"fit range [{n_min}, {ns[-1]}] spans less than a factor of 2", **detail)
    cols = np.searchsorted(ns, points)
    reason = _resolved(u, cols, points, seed + 1, resamples)
    if reason:
        return undefined(reason, **detail)
    sub = u[:, :, cols]
    mean = sub.mean((0, 1))
    x = np.log(points)
    est = bootstrap_means(lambda m: _slopes(m, x), [sub], seed=seed, resamples=resamples)
    prefactor = float(np.exp(np.log(mean).mean() - est.value * x.mean()))  # a in a N^b, for plots
    per_seed = [float(_slopes(sub[s].mean(0), x)) for s in range(sub.shape[0])] if sub.shape[0] > 1 else []
    return Estimate(est.value, est.ci, detail | {"prefactor": prefactor, "per_seed": per_seed})


# ---- ratios and differences of means --------------------------------------------------------------------------
def ratio_between(
    top: np.ndarray,
    bottom: np.ndarray,
    column: int,
    *,
    offset: float = 0.0,
    paired: bool = True,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Estimate:
    """Ratio of mean errors at one N, (mean(top[..., column]) + offset) / (mean(bottom[..., column]) + offset).

    paired: the two arrays hold the same tasks (drawn together). Seeds are drawn once for both arrays either way.

    Args:
        top: numerator errors [S, T, N] (or [T, N]).
        bottom: denominator errors [S', T', N] (or [T', N]), on the same N grid.
        column: index of the last axis at which both are read (equal to N when the grid is 0..n_max).
        offset: added to both means (e.g. a noise floor), in error units.
        paired: True when both arrays hold the same tasks (T = T'), whose indices are then drawn together; False
            draws each array's tasks independently.
        seed: the bootstrap's seed.
        resamples: bootstrap resamples, >= 1.

    Returns:
        The ratio with its 95% interval; detail: numerator and denominator (the means plus offset).

    Raises:
        InputError: an array is neither [S, T, N] nor [T, N].
    """

    def stat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a[..., column] + offset) / (b[..., column] + offset)

    est = bootstrap_means(stat, [top, bottom], seed=seed, resamples=resamples, paired=paired)
    num, den = as_units(top)[..., column].mean() + offset, as_units(bottom)[..., column].mean() + offset
    return Estimate(est.value, est.ci, {"numerator": float(num), "denominator": float(den)})


def difference(
    a: np.ndarray, b: np.ndarray, column: int, *, seed: int = 0, resamples: int = RESAMPLES, level: float = 0.95
) -> Estimate:
    """Paired difference of mean errors at one N, mean(a[..., column]) - mean(b[..., column]).

    For arrays on the same seeds and tasks (paired: the per-unit differences are resampled), with a `level`
    two-stage bootstrap interval (0.90 for a two one-sided tests equivalence at 5%).

    Args:
        a: errors [S, T, N] (or [T, N]).
        b: errors on the same seeds and tasks, same shape as a.
        column: index of the last axis at which both are read (equal to N when the grid is 0..n_max; -1: n_max).
        seed: the bootstrap's seed.
        resamples: bootstrap resamples, >= 1.
        level: the interval's coverage, in (0, 1).

    Returns:
        The difference (error units) with its `level` interval; detail: level.

    Raises:
        InputError: an array is neither [S, T, N] nor [T, N].
    """
    diff = as_units(a)[..., [column]] - as_units(b)[..., [column]]  # [S, T, 1]
    return bootstrap_means(
        lambda m: m[..., 0], [diff], seed=seed, resamples=resamples, level=level, detail={"level": level}
    )


def gain_kept(errors: np.ndarray, trained: int, beyond: int, *, seed: int = 0, resamples: int = RESAMPLES) -> Estimate:
    """Fraction of the in-context gain kept past the trained length.

    (mean[0] - mean[beyond]) / (mean[0] - mean[trained]): the in-context gain at N = beyond, as a fraction of the
    gain at the trained length (1: nothing lost past it; above 1: still improving).

    Args:
        errors: per-unit errors [S, T, n_max + 1] of the in-context predictor, one column per N = 0..n_max (or
            [T, n_max + 1]).
        trained: the trained prompt length (train_n_max, in examples), in [1, n_max].
        beyond: the longer N read, in (trained, n_max].
        seed: the bootstrap's seed.
        resamples: bootstrap resamples, >= 1.

    Returns:
        The fraction with its 95% interval; detail: trained and beyond.

    Raises:
        InputError: errors is neither [S, T, N] nor [T, N].
    """

    def stat(m: np.ndarray) -> np.ndarray:
        return (m[..., 0] - m[..., beyond]) / (m[..., 0] - m[..., trained])

    est = bootstrap_means(stat, [errors], seed=seed, resamples=resamples)
    return Estimate(est.value, est.ci, {"trained": trained, "beyond": beyond})


# ---- N*(eps) and quantiles --------------------------------------------------------------------------------------
def n_star(curve: np.ndarray, ns: Sequence[int], eps: float) -> float:
    """Smallest N in ns with curve[N] <= eps (inf if none). curve [..., len(ns)] is batched.

    Args:
        curve: errors [..., len(ns)] (a mean or quantile curve; leading axes are batch axes, e.g. resamples).
        ns: the N of the last axis, increasing.
        eps: the target error, in the curve's units.

    Returns:
        N*(eps) [...] (the curve's leading axes), as floats (inf where the curve never reaches eps).
    """
    ns = np.asarray(ns, dtype=np.float64)
    hit = np.asarray(curve) <= eps
    first = np.argmax(hit, axis=-1)
    return np.where(hit.any(-1), ns[first], np.inf)


def crossing(curve: np.ndarray, ns: Sequence[int], eps: float | np.ndarray) -> np.ndarray:
    """N at which the curve first falls to eps, interpolated in log-log between the grid points that bracket it.

    Batched over leading axes; eps is a scalar or broadcasts against the leading axes. Before the first grid point
    (eps reached at the first N >= 1): that N, i.e. ns[0] when the grid has no N = 0. Never reaching eps:
    extrapolated along the last segment if it falls, else inf. Errors are floored at 1e-12 before taking logs.

    Args:
        curve: errors [..., len(ns)].
        ns: the N of the last axis, increasing (N = 0 is ignored: it has no place on a log axis).
        eps: target error(s), > 0: a scalar or an array broadcasting against curve's leading axes.

    Returns:
        The interpolated N (float), shape broadcast(curve.shape[:-1], eps.shape).
    """
    ns = np.asarray(ns, dtype=np.float64)
    pos = ns >= 1  # N = 0 has no place on a log axis
    curve = np.maximum(np.asarray(curve, dtype=np.float64)[..., pos], TINY)
    lx, ly, le = np.log(ns[pos]), np.log(curve), np.log(np.asarray(eps, dtype=np.float64))
    shape = np.broadcast_shapes(ly.shape[:-1], le.shape)
    ly, le = np.broadcast_to(ly, (*shape, ly.shape[-1])), np.broadcast_to(le, shape)
    hit = ly <= le[..., None]
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


def quantile(errors: np.ndarray, level: float) -> np.ndarray:
    """The `level` quantile over all (seed, task) units, per N (numpy's default linear interpolation).

    Args:
        errors: per-unit errors [S, T, N] (or [T, N]); the S x T units are pooled.
        level: the quantile, in [0, 1] (e.g. 1 - delta = 0.9).

    Returns:
        The quantile curve [N].

    Raises:
        InputError: errors is neither [S, T, N] nor [T, N].
    """
    u = as_units(errors)
    return np.quantile(u.reshape(-1, u.shape[-1]), level, axis=0)


def quantile_at(
    errors: np.ndarray, column: int, level: float, *, seed: int = 0, resamples: int = RESAMPLES
) -> Estimate:
    """The `level` quantile over units of one column, with its two-stage bootstrap interval.

    Args:
        errors: per-unit errors [S, T, N] (or [T, N]); the quantile is over the S x T units.
        column: index of the last axis (equal to N when the grid is 0..n_max).
        level: the quantile, in [0, 1] (0.9: the 1 - delta quantile that PAC bounds speak of).
        seed: the bootstrap's seed.
        resamples: bootstrap resamples, >= 1.

    Returns:
        The quantile (error units) with its 95% interval.

    Raises:
        InputError: errors is neither [S, T, N] nor [T, N].
    """
    col = as_units(errors)[..., column : column + 1]
    return bootstrap_units(lambda u: np.quantile(u[..., 0], level, axis=-1), col, seed=seed, resamples=resamples)


def n_star_estimate(
    errors: np.ndarray,
    ns: Sequence[int],
    eps: float,
    *,
    level: float | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Estimate:
    """N*(eps) of the mean curve (level None) or of the `level`-quantile curve, with a bootstrap interval.

    N*(eps) is the smallest grid N whose error is <= eps (`n_star`, no interpolation). The interval is the
    two-stage bootstrap's, over the mean curve or over the quantile of the resampled units.

    Args:
        errors: per-unit errors [S, T, len(ns)] (or [T, len(ns)]).
        ns: the N of the last axis, increasing.
        eps: the target error, in the errors' units.
        level: None for the mean curve, else the quantile over the S x T units, in [0, 1] (e.g. 1 - delta = 0.9).
        seed: the bootstrap's seed.
        resamples: bootstrap resamples, >= 1.

    Returns:
        N*(eps) with its 95% interval (inf where the curve never reaches eps).

    Raises:
        InputError: errors is neither [S, T, N] nor [T, N].
    """
    if level is None:
        return bootstrap_means(lambda m: n_star(m, ns, eps), [errors], seed=seed, resamples=resamples)
    return bootstrap_units(
        lambda u: n_star(np.quantile(u, level, axis=-2), ns, eps), errors, seed=seed, resamples=resamples
    )


# ---- scaling of N* with the problem's size ----------------------------------------------------------------------
def eps_grid(curves: Sequence[np.ndarray], ns: Sequence[int], starts: Sequence[int], points: int = 4) -> np.ndarray:
    """Targets eps that every mean curve crosses inside its own fit range [start, n_max].

    Geometric between the highest final error and the lowest error at a range start, interior points only; empty
    when there is none.

    Args:
        curves: mean error curves, one per size, each [len(ns)].
        ns: the N of the curves' axis.
        starts: each curve's fit start, one per curve (an element of ns, else the grid is empty).
        points: how many targets, >= 1.

    Returns:
        The targets eps [points], decreasing; empty when a start is not in ns or no error range is shared
        (0 < highest final error < lowest start error fails).
    """
    ns = list(np.asarray(ns))
    if any(s not in ns for s in starts):
        return np.array([])
    hi = min(float(c[ns.index(s)]) for c, s in zip(curves, starts, strict=True))
    lo = max(float(c[-1]) for c in curves)
    if not 0 < lo < hi:
        return np.array([])
    t = np.arange(1, points + 1) / (points + 1)
    return np.exp(np.log(hi) + t * (np.log(lo) - np.log(hi)))


def _resolved(u: np.ndarray, cols: np.ndarray, points: np.ndarray, seed: int, resamples: int) -> str:
    """'' when every fit point's mean error is resolved, else the reason naming the points that are not."""
    sub = u[:, :, cols]
    d = draw([sub], seed, resamples)
    return _unresolved(sub.mean((0, 1)), resampled_means(sub, d.seeds, d.tasks[0]), points)


def scaling(
    errors_by_size: Sequence[tuple[float, np.ndarray]],
    ns: Sequence[int],
    starts: Sequence[int],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Estimate:
    """Exponent b of `N*(eps) ~ size^b` (size = d or `m*V`), from one power law in N and size fitted to every curve.

    Each curve enters on its own fit points (fit_points(start, n_max), as for `exponent`):

        log mean error = alpha + a log N + c log size   (least squares)  =>  N*(eps) = (e^alpha size^c / eps)^(1/-a),

    so b = c / (-a) (unbounded when the fitted error does not decay, a >= 0). Only measured N enter: no eps has to
    be crossed by every curve, and nothing is extrapolated. The detail also holds a model-free view for plots:
    each mean curve's crossing (log-log interpolation) of an eps grid that every curve crosses in range, if any.

    Args:
        errors_by_size: (size, per-unit errors [S, T, len(ns)]) per curve, on the same S seeds (the seed draw is
            shared); size > 0 (d, or m*V), at least two distinct.
        ns: the N of the last axis, increasing and containing every fit point (0..n_max in a run).
        starts: each curve's fit start (Task.asymptotic_start), one per curve, >= 1.
        seed: the bootstrap's seed; seed + 1 + j seeds curve j's resolution check.
        resamples: bootstrap resamples, >= 2.

    Returns:
        b with its 95% interval; detail: sizes, n_ranges, exponent_n (a), exponent_size (c), per_seed, and the
        model-free view (eps, crossings) when an eps grid exists. Undefined (with the reason) for fewer than two
        sizes, a fit range under a factor of 2 or an unresolved mean error.

    Raises:
        InputError: an errors array is neither [S, T, N] nor [T, N].
    """
    ns = np.asarray(ns)
    sizes = np.array([s for s, _ in errors_by_size], dtype=np.float64)
    arrays = [as_units(u) for _, u in errors_by_size]
    if len(np.unique(sizes)) < 2:
        return undefined("needs at least two distinct sizes")
    points = [fit_points(s, int(ns[-1])) for s in starts]
    detail = {"sizes": sizes.tolist(), "n_ranges": [[int(p[0]), int(p[-1])] if len(p) else None for p in points]}
    if any(len(p) < 3 or p[-1] < 2 * p[0] for p in points):
        return undefined("a curve's fit range spans less than a factor of 2", **detail)
    cols = [np.searchsorted(ns, p) for p in points]
    for j, (u, c, p) in enumerate(zip(arrays, cols, points, strict=True)):
        reason = _resolved(u, c, p, seed + 1 + j, resamples)
        if reason:
            return undefined(f"size {sizes[j]:g}: {reason}", **detail)
    design = np.concatenate(
        [
            np.stack([np.ones(len(p)), np.log(p), np.full(len(p), np.log(s))], 1)
            for p, s in zip(points, sizes, strict=True)
        ]
    )
    solve = np.linalg.pinv(design)  # [3, points]

    def slope(*means: np.ndarray) -> np.ndarray:
        y = np.concatenate([np.log(np.maximum(m[..., c], TINY)) for m, c in zip(means, cols, strict=True)], -1)
        _, a, c = np.moveaxis(y @ solve.T, -1, 0)
        return np.where(a < 0, c / np.where(a < 0, -a, 1.0), np.inf)

    est = bootstrap_means(slope, arrays, seed=seed, resamples=resamples)
    means = [a.mean((0, 1)) for a in arrays]
    per_seed = [float(slope(*(a[s].mean(0) for a in arrays))) for s in range(arrays[0].shape[0])]
    _, a, c = solve @ np.concatenate([np.log(np.maximum(m[cc], TINY)) for m, cc in zip(means, cols, strict=True)])
    grid = eps_grid(means, ns, starts)
    view = {}
    if len(grid):
        view = {
            "eps": [float(e) for e in grid],
            "crossings": [[float(crossing(m, ns, e)) for e in grid] for m in means],  # [curve][eps], as sizes
        }
    fit = {"exponent_n": float(a), "exponent_size": float(c), "per_seed": per_seed if len(per_seed) > 1 else []}
    return Estimate(est.value, est.ci, detail | fit | view)


# ---- rates relative to a reference learner --------------------------------------------------------------------
# A claimed rate is tested against a reference learner whose rate is proved (the Bayes rule, the posterior mean,
# the Bayes floor) on the same tasks and N, in sample-size units: the learner's *equivalent sample size* N_eq(N) is
# the number of examples the reference needs to do as well as the learner does with N (the reference's mean curve
# inverted at the learner's mean risk, log-log interpolation). A learner within the claim needs at most a constant
# factor more examples than the reference, plus a lower-order offset: N_eq(N) >= (N - c s) / C, so the exponent of
# N_eq in N is >= 1 at large N; a learner half an order slower (risk slowed by N^(|claimed|/2), so N* ~ N*_ref^2)
# has N_eq ~ N^(1/2). The cost exponent q = 1 - (slope of log N_eq against log N) is 0 for the former and 1/2 for
# the latter, whatever the metric and the claimed exponent. Why not the absolute exponent: finite-N curves of
# rate-optimal learners are not power laws (the exact d = 2 Bayes halfspace risk 1/(2(N + 1)) has log-log slope
# -N/(N + 1), -0.91 fitted on [4, 32]), so a bare exponent condemns the optimal learner itself; why not the
# exponent of the ratio of risks: a rate-optimal learner with an offset, a/(N + 2d), falls behind the Bayes risk's
# curve in the error's own units (+0.26 at d = 4 on [8, 32]) while its sample cost stays within a constant. The
# exponent is fitted on the top OCTAVES octaves of N, [n_max / 4, n_max]: a learner that stops improving halfway is
# missed over the whole range but obvious at its top.
OCTAVES = 2


def top_start(n_max: int, octaves: int = OCTAVES) -> int:
    """Where the relative fits start: n_max / 2^octaves, rounded (at least 1).

    Args:
        n_max: the largest N of the run.
        octaves: how many doublings of N below n_max the fits span (OCTAVES = 2).
    """
    return max(1, round(n_max / 2**octaves))


def _paired_means(arrays: Sequence[np.ndarray], seeds: np.ndarray, tasks: np.ndarray) -> list[np.ndarray]:
    """Resampled mean curves [B, N] of arrays on the same tasks (one task draw), seeds drawn once for all."""
    wt = _weights(tasks, arrays[0].shape[1])
    return [resampled_means(a, seeds[:, : a.shape[0]], tasks, wt) for a in arrays]


def _unresolved(means: np.ndarray, boot: np.ndarray, points: np.ndarray) -> str:
    """'' when every fit point's mean is resolved (>= RESOLVED standard errors of the resampled means boot [B, P]),
    else the reason naming the points that are not."""
    se = boot.std(0, ddof=1)
    bad = points[(means <= 0) | (means < RESOLVED * se)]
    return f"mean error not resolved ({RESOLVED:g} standard errors) at N = {bad.tolist()}" if len(bad) else ""


def equivalent_n(risk: np.ndarray, reference: np.ndarray, ns: np.ndarray, points: np.ndarray) -> np.ndarray:
    """N_eq: the N at which the reference's mean curve reaches each risk (log-log interpolation), batched.

    Beyond the measured range (a risk below the reference's at n_max) the reference's power law over the fit
    points is extended; a risk above the reference's at N = 1 gives N_eq = 1.

    Args:
        risk: mean risks [..., P] of the learner at the fit points.
        reference: the reference's mean curve [..., len(ns)] on ns (0..n_max).
        ns: the grid of the reference's curve.
        points: the fit points (for the reference's slope beyond n_max).

    Returns:
        N_eq [..., P] (floats >= 1).
    """
    pos = ns >= 1
    curve = np.maximum(reference[..., pos], TINY)
    with np.errstate(over="ignore"):  # extrapolated crossings of a flat last segment; replaced below
        inside = crossing(curve[..., None, :], ns[pos], np.maximum(risk, TINY))
    cols = np.searchsorted(ns[pos], points)
    slope = _slopes(curve[..., cols], np.log(points))[..., None]  # the reference's decay at the top
    floor = curve[..., -1:]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beyond = ns[-1] * np.exp(np.log(np.maximum(risk, TINY) / floor) / np.where(slope < 0, slope, np.nan))
    return np.where(risk < curve.min(-1, keepdims=True), beyond, np.maximum(inside, 1.0))


OFFSET = 2  # the offset learner has risk ~ (s / (N + OFFSET s))^a


def offset_cost(
    reference: np.ndarray, ns: Sequence[int], size: float, exponent: float, n_min: int | None = None
) -> float:
    """q of a rate-optimal learner with an offset, on this reference's own mean curve: the learner with risk
    c (s / (N + OFFSET s))^|exponent|, c the smallest constant that keeps it above the reference at every N >= 1 (a
    real learner never beats the Bayes-optimal reference). Its N* is within a constant factor of the claim's, yet on
    a window close to N ~ s it falls behind: an estimate of q below this value cannot be told from it.

    Args:
        reference: the reference's mean curve [len(ns)] on ns (0..n_max).
        ns: the N grid.
        size: the curve's size s (d, or m V).
        exponent: the claimed exponent of the risk in N (-1, -1/2).
        n_min: where the fit starts (default top_start(n_max)).

    Returns:
        q of the offset learner (nan when the reference is not resolved).
    """
    ns = np.asarray(ns)
    n = np.maximum(ns, 1).astype(np.float64)
    shape = (size / (n + OFFSET * size)) ** abs(exponent)
    ref = np.asarray(reference, dtype=np.float64)
    learner = shape * np.max(ref[1:] / shape[1:])
    points = fit_points(top_start(int(ns[-1])) if n_min is None else n_min, int(ns[-1]))
    cols = np.searchsorted(ns, points)
    return float(1.0 - _slopes(equivalent_n(learner[cols], ref, ns, points), np.log(points)))


def _with_gate(values: np.ndarray, half: np.ndarray | None) -> dict[str, np.ndarray]:
    """The statistic at the full budget and, with the halfway value, its improvement from half to full budget and
    the values after one more equal change: optimistic (one more improvement) and pessimistic (one more
    worsening)."""
    out = {"value": values}
    if half is not None:
        gain = half - values  # > 0: the statistic fell (ICL caught up with the reference) in the second half
        out |= {
            "improvement": gain,
            "optimistic": values - np.maximum(gain, 0.0),
            "pessimistic": values + np.maximum(-gain, 0.0),
        }
    return out


def _gated_estimate(point: dict[str, float], boot: dict[str, np.ndarray], detail: dict) -> Estimate:
    """An Estimate of boot['value'] whose detail holds every other entry with its own 95% interval."""
    extra = {
        name: {"estimate": _num(point[name]), "ci": [_num(v) for v in _interval(boot[name])]}
        for name in boot
        if name != "value"
    }
    return Estimate(point["value"], _interval(boot["value"]), detail | extra)


def relative_exponent(
    learner: np.ndarray,
    reference: np.ndarray,
    ns: Sequence[int],
    *,
    halfway: np.ndarray | None = None,
    n_min: int | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Estimate:
    """q = 1 - d log N_eq / d log N: how much faster the learner's sample cost grows than the reference's.

    N_eq(N) (`equivalent_n`) is the number of examples the reference needs to match the learner's mean risk at
    N, from the *mean* curves (never per task: many per-task reference risks are 0); the slope of log N_eq against
    log N is fitted by least squares at fit_points(n_min, n_max) (default n_min: `top_start`, the top two octaves).
    q = 0: the learner's sample cost is a constant multiple of the reference's (or better: q < 0 when it catches
    up); q = 1/2: N* grows as the reference's squared. The interval is a paired two-stage bootstrap: seeds resampled
    once, tasks drawn together for every array (they hold the same tasks and queries).

    With `halfway` (the learner's risks at half its training budget, same seeds and tasks) the detail also holds
    q_half - q ('improvement': how much q fell in the second half of training), q - max(improvement, 0)
    ('optimistic': q after one more equal improvement) and q + max(-improvement, 0) ('pessimistic': after one more
    equal worsening), each with its interval from the same resamples.

    Args:
        learner: per-unit risks [S, T, len(ns)] (or [T, len(ns)]).
        reference: the reference's risks on the same tasks [T, len(ns)] (or [S', T, len(ns)]).
        ns: the N of the last axis, 0..n_max.
        halfway: the learner's risks at half its training budget, learner's shape, or None.
        n_min: where the fit starts (default top_start(n_max)); the range must span a factor of 2.
        seed: the bootstrap's seed.
        resamples: bootstrap resamples, >= 2.

    Returns:
        q with its 95% interval; detail: n_range, points, the learner's and the reference's exponents in N (of the
        mean risk, descriptive), ratio (of mean risks at n_max), n_equivalent (N_eq at the fit points), per_seed q,
        and the halfway entries. Undefined (nan, with the reason) for a range under a factor of 2 or a fit point
        whose mean risk is not resolved from 0; where only the halfway learner's is not, q stands without the
        halfway entries and 'gate_unknown' says why.

    Raises:
        InputError: an array is neither [S, T, N] nor [T, N], or the arrays hold different numbers of tasks.
    """
    ns = np.asarray(ns)
    arrays = [as_units(a) for a in (learner, reference) + (() if halfway is None else (halfway,))]
    if len({a.shape[1:] for a in arrays}) != 1:
        raise InputError(f"learner and reference must hold the same tasks and N; got {[a.shape for a in arrays]}")
    n_max = int(ns[-1])
    points = fit_points(top_start(n_max) if n_min is None else n_min, n_max)
    detail = {"n_range": [int(points[0]), int(points[-1])] if len(points) else None, "points": len(points)}
    if len(points) < 3 or points[-1] < 2 * points[0]:
        return undefined(f"fit range up to {n_max} spans less than a factor of 2", **detail)
    cols = np.searchsorted(ns, points)
    d = draw(arrays, seed, resamples, paired=True)
    resampled = _paired_means(arrays, d.seeds, d.tasks[0])
    reasons = [_unresolved(a.mean((0, 1))[cols], b[:, cols], points) for a, b in zip(arrays, resampled, strict=True)]
    for name, reason in zip(("learner", "reference"), reasons, strict=False):
        if reason:
            return undefined(f"{name}: {reason}", **detail)
    if len(reasons) == 3 and reasons[2]:  # q stands; the training-budget gate is unknown (the verdict says so)
        detail["gate_unknown"] = f"halfway learner: {reasons[2]}"
        arrays, resampled = arrays[:2], resampled[:2]
    x = np.log(points)

    def cost(m: np.ndarray, ref: np.ndarray) -> np.ndarray:
        return 1.0 - _slopes(equivalent_n(m[..., cols], ref, ns, points), x)

    def stats(*means: np.ndarray) -> dict[str, np.ndarray]:
        return _with_gate(cost(means[0], means[1]), cost(means[2], means[1]) if len(means) == 3 else None)

    means = [a.mean((0, 1)) for a in arrays]
    point = {k: float(v) for k, v in stats(*means).items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = stats(*resampled)
    per_seed = [float(cost(arrays[0][s].mean(0), means[1])) for s in range(arrays[0].shape[0])]
    detail |= {
        "learner_exponent": float(_slopes(means[0][cols], x)),
        "reference_exponent": float(_slopes(means[1][cols], x)),
        "ratio": float(means[0][-1] / means[1][-1]) if means[1][-1] > 0 else None,
        "n_equivalent": [round(float(v), 2) for v in equivalent_n(means[0][cols], means[1], ns, points)],
        "per_seed": per_seed if len(per_seed) > 1 else [],
    }
    return _gated_estimate(point, boot, detail)


def relative_scaling(
    curves: Sequence[tuple[dict[str, float], np.ndarray, np.ndarray, np.ndarray | None]],
    ns: Sequence[int],
    *,
    n_min: int | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict[str, Estimate]:
    """How much faster the learner's N* grows with each size axis than the reference's.

    Per curve j (sizes s_j), kappa_j = mean over the fit points of log(N / N_eq(N)) (`equivalent_n`): the log of
    how many times more examples the learner needs than the reference, in the top octaves. Regressing kappa_j on
    [1, log s_j(axis) ...] gives, per axis, the exponent of N*_learner / N*_reference in that size: 0 when the
    learner's N* grows as the reference's does, 1 when it grows with one more power of the size (N* ~ s^2 against
    s). Seeds are drawn once for every curve (they share their models); tasks per curve, paired within it. With
    halfway risks on every curve the detail holds the same gate entries as `relative_exponent`.

    Args:
        curves: (sizes {axis: value > 0}, learner [S, T, N], reference [T, N], halfway [S, T, N] or None) per curve.
        ns: the N of the last axis (0..n_max in a run).
        n_min: where the fits start (default top_start(n_max)).
        seed: the bootstrap's seed.
        resamples: bootstrap resamples, >= 2.

    Returns:
        {axis: Estimate} for every axis along which the sizes vary (an axis with one value is left out); detail:
        sizes, n_range, kappa per curve. Undefined entries (with the reason) when there are fewer curves than
        parameters, the range is too short or a mean risk is unresolved (a halfway learner's alone: the
        exponents stand without the gate entries, and 'gate_unknown' says why).
    """
    ns = np.asarray(ns)
    axes = [a for a in curves[0][0] if len({c[0][a] for c in curves}) > 1]
    n_max = int(ns[-1])
    points = fit_points(top_start(n_max) if n_min is None else n_min, n_max)
    sizes = [{a: float(c[0][a]) for a in axes} for c in curves]
    detail = {"sizes": sizes, "n_range": [int(points[0]), int(points[-1])] if len(points) else None}
    design = np.array([[1.0] + [np.log(s[a]) for a in axes] for s in sizes])
    if not axes or np.linalg.matrix_rank(design) < len(axes) + 1:
        reason = "needs curves whose sizes vary independently along each axis (one more curve than axes)"
        return {a: undefined(reason, **detail) for a in axes or ["size"]}
    if len(points) < 3 or points[-1] < 2 * points[0]:
        return {a: undefined(f"fit range up to {n_max} spans less than a factor of 2", **detail) for a in axes}
    cols = np.searchsorted(ns, points)
    gated = all(c[3] is not None for c in curves)
    groups = [[as_units(a) for a in (c[1], c[2]) + ((c[3],) if gated else ())] for c in curves]
    rng = np.random.default_rng(seed)
    n_seeds = max(a.shape[0] for g in groups for a in g)
    seeds = rng.integers(0, n_seeds, size=(resamples, n_seeds))
    boot_means = [_paired_means(g, seeds, rng.integers(0, g[0].shape[1], (resamples, g[0].shape[1]))) for g in groups]
    unknown = ""
    for j, (g, bm) in enumerate(zip(groups, boot_means, strict=True)):
        for i, (a, b) in enumerate(zip(g, bm, strict=True)):
            reason = _unresolved(a.mean((0, 1))[cols], b[:, cols], points)
            if reason and i == 2:  # the exponents stand; the training-budget gate is unknown
                unknown = unknown or f"curve {sizes[j]}: halfway learner: {reason}"
            elif reason:
                return {ax: undefined(f"curve {sizes[j]}: {reason}", **detail) for ax in axes}
    if unknown:
        detail["gate_unknown"], gated = unknown, False
        groups, boot_means = [g[:2] for g in groups], [bm[:2] for bm in boot_means]
    solve = np.linalg.pinv(design)  # [1 + axes, curves]

    def kappa(m: np.ndarray, ref: np.ndarray) -> np.ndarray:
        return np.log(points / equivalent_n(m[..., cols], ref, ns, points)).mean(-1)

    def stats(means: list[list[np.ndarray]]) -> dict[str, np.ndarray]:
        def coef(i: int) -> np.ndarray:  # i = 0: the learner, 2: its halfway checkpoint
            return np.stack([kappa(g[i], g[1]) for g in means], -1) @ solve[1:].T  # [..., axes]

        full = coef(0)
        return {a: _with_gate(full[..., k], coef(2)[..., k] if gated else None) for k, a in enumerate(axes)}

    means = [[a.mean((0, 1)) for a in g] for g in groups]
    point = stats(means)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = stats(boot_means)
    kappas = [float(kappa(g[0], g[1])) for g in means]
    return {
        a: _gated_estimate({k: float(v) for k, v in point[a].items()}, boot[a], detail | {"kappa": kappas})
        for a in axes
    }


def ratio_curve(
    top: np.ndarray, bottom: np.ndarray, *, seed: int = 0, resamples: int = RESAMPLES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of mean risks at every N, mean(top) / mean(bottom), with its 95% paired two-stage bootstrap interval
    (the arrays hold the same tasks; seeds drawn once): (ratio, low, high), each [N]; nan where a mean is 0.

    Args:
        top: per-unit risks [S, T, N] (or [T, N]), e.g. ICL's.
        bottom: per-unit risks on the same tasks and N, [S', T, N] (or [T, N]), e.g. the reference's.
        seed: the bootstrap's seed.
        resamples: bootstrap resamples, >= 2.
    """
    arrays = [as_units(top), as_units(bottom)]
    d = draw(arrays, seed, resamples, paired=True)
    a, b = _paired_means(arrays, d.seeds, d.tasks[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        point = arrays[0].mean((0, 1)) / arrays[1].mean((0, 1))
        low, high = _interval(np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan), axis=0)
    return np.where(np.isfinite(point), point, np.nan), low, high
