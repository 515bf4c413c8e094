"""Linear regression, the field's reference in-context task (Garg et al. 2022; Raventós et al. 2023).

x ~ N(0, I_d), w ~ N(0, I_d), y = <w, x> + e with e ~ N(0, noise_var), zero-padded to d_max as for halfspaces.
Error: the excess squared error (y_hat - <w, x>)^2 of a prediction -- its expected squared error on a fresh noisy
label minus the noise floor sigma^2 (add sigma^2 back for the squared error). Baselines: minimum-norm least
squares, ridge at the Bayes-optimal regularisation lam = sigma^2 (the posterior mean), averaging, 3 nearest
neighbours, and with a finite pretraining pool the discrete-prior posterior mean (dMMSE); `bayes_floor` is the Bayes
posterior's expected excess error tr(Sigma_N), exact given the prompt's inputs.

Theory. The Bayes excess risk behaves like sigma^2 d / N for N >> d, so the mean excess risk should fall like
N^-1 and N*(eps) grow linearly in d. For least squares the expectation is known in closed form
(`least_squares_risk`; Belkin, Hsu & Xu 2020, Theorem 1) and diverges at N = d: the double-descent peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from simulations.records import curve_key
from simulations.tasks.base import RatioCheck, documented, require_real
from simulations.tasks.gaussian import GaussianInputs, prefix_masks

# ---- learners on the same prompts ------------------------------------------------------------------------------------
# Each takes one task's x [n+1, d_max] and y [n+1] and returns, for N = 0..n, the prediction of y_N from the
# first N examples. Inactive coordinates are zero in every x, so the estimators live in the active ones.


def _masked(x: jax.Array, y: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    return x * mask[:, None], y * mask


def least_squares(x: jax.Array, y: jax.Array) -> jax.Array:
    """Ordinary least squares, minimum-norm when underdetermined: w_N = pinv(X_N) y_N."""

    def weights(mask):
        xm, ym = _masked(x, y, mask)
        return jnp.linalg.pinv(xm) @ ym

    return jnp.sum(jax.vmap(weights)(prefix_masks(x.shape[0])) * x, axis=-1)


def ridge(x: jax.Array, y: jax.Array, lam: float) -> jax.Array:
    """Ridge regression w_N = (X_N^T X_N + lam I)^{-1} X_N^T y_N. With lam = sigma^2 and w ~ N(0, I) this is the
    posterior mean E[w | data]: the Bayes-optimal predictor under squared loss."""
    eye = jnp.eye(x.shape[1])

    def weights(mask):
        xm, ym = _masked(x, y, mask)
        return jnp.linalg.solve(xm.T @ xm + lam * eye, xm.T @ ym)

    return jnp.sum(jax.vmap(weights)(prefix_masks(x.shape[0])) * x, axis=-1)


def averaging_regression(x: jax.Array, y: jax.Array) -> jax.Array:
    """w_N = (1/N) sum_{i<N} y_i x_i (Garg et al. 2022's averaging estimator); w_0 = 0."""
    masks = prefix_masks(x.shape[0])
    w = masks @ (y[:, None] * x) / jnp.maximum(masks.sum(-1, keepdims=True), 1.0)
    return jnp.sum(w * x, axis=-1)


def nearest_neighbours(x: jax.Array, y: jax.Array, k: int = 3) -> jax.Array:
    """Mean label of the k nearest earlier examples (Euclidean; all of them when N < k; 0 when N = 0)."""
    n1 = x.shape[0]
    dist = jnp.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)  # [query N, example i]
    earlier = jnp.arange(n1)[None, :] < jnp.arange(n1)[:, None]
    neg, idx = jax.lax.top_k(jnp.where(earlier, -dist, -jnp.inf), min(k, n1))
    valid = jnp.isfinite(neg)
    return jnp.sum(jnp.where(valid, y[idx], 0.0), -1) / jnp.maximum(valid.sum(-1), 1)


def discrete_posterior_mean(x: jax.Array, y: jax.Array, pool_w: jax.Array, noise_var: float) -> jax.Array:
    """dMMSE (Raventós et al. 2023): the posterior mean of <w, x_N> when w is uniform on a finite pool
    pool_w [K, d_max] and y = <w, x> + N(0, noise_var): weights proportional to exp(-|y_N - X_N w_k|^2 / 2 s^2)."""
    resid = (y[:, None] - x @ pool_w.T) ** 2  # [example i, k]
    loglik = -0.5 * (prefix_masks(x.shape[0]) @ resid) / noise_var  # [N, k]
    post = jax.nn.softmax(loglik, axis=-1)
    return jnp.sum(post * (x @ pool_w.T), axis=-1)


def bayes_floor(x: jax.Array, noise_var: float, active: jax.Array) -> jax.Array:
    """The Bayes risk's excess part after N examples, exactly: tr(Sigma_N) with Sigma_N = (X_N^T X_N / s^2 + I)^{-1}
    the posterior covariance of w over the active coordinates (a fresh query x ~ N(0, I) gives
    E[(x^T (w_hat - w))^2 | data] = tr(Sigma_N)). [n+1]."""
    eye = jnp.eye(x.shape[1])

    def floor(mask):
        xm = x * mask[:, None]
        cov = jnp.linalg.inv(xm.T @ xm / noise_var + eye)
        return jnp.sum(jnp.diag(cov) * active)

    return jax.vmap(floor)(prefix_masks(x.shape[0]))


_VMAPPED = {
    "least_squares": jax.jit(jax.vmap(least_squares)),
    "averaging": jax.jit(jax.vmap(averaging_regression)),
    "nearest_neighbours": jax.jit(jax.vmap(nearest_neighbours)),
}
_RIDGE = jax.jit(jax.vmap(ridge, in_axes=(0, 0, None)))
_DMMSE = jax.jit(jax.vmap(discrete_posterior_mean, in_axes=(0, 0, None, None)))
_FLOOR = jax.jit(jax.vmap(bayes_floor, in_axes=(0, None, 0)))


def sample(
    key: jax.Array, d: jax.Array, d_max: int, n: int, noise_var: float, latent_key: jax.Array | None = None
) -> dict[str, jax.Array]:
    """One task and n + 1 examples: w [d_max], x [n+1, d_max], y [n+1] (noisy) and y_clean = <w, x> [n+1]."""
    kw, kx, ke = jax.random.split(key, 3)
    kw = kw if latent_key is None else latent_key
    active = (jnp.arange(d_max) < d).astype(jnp.float32)
    w = jax.random.normal(kw, (d_max,)) * active
    x = jax.random.normal(kx, (n + 1, d_max)) * active
    y_clean = x @ w
    y = y_clean + math.sqrt(noise_var) * jax.random.normal(ke, (n + 1,))
    return {"w": w, "x": x, "y": y, "y_clean": y_clean}


def least_squares_risk(d: int, n: np.ndarray | int, noise_var: float) -> np.ndarray:
    """Expected excess squared error of minimum-norm least squares on n examples, w ~ N(0, I_d) (E|w|^2 = d):
    (d - n) + sigma^2 n / (d - n - 1) for n <= d - 2, sigma^2 d / (n - d - 1) for n >= d + 2, infinite between
    (Belkin, Hsu & Xu 2020, "Two models of double descent for weak features", Theorem 1 with all d features).

    Args:
        d: the input dimension, an integer >= 1.
        n: the number(s) of examples, a scalar or an array of any shape (integers >= 0).
        noise_var: the label-noise variance sigma^2 (>= 0).

    Returns:
        The expected excess squared error at each n, float64 with n's shape (inf for d - 2 < n < d + 2).
    """
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        under = (d - n) + noise_var * n / (d - n - 1)
        over = noise_var * d / (n - d - 1)
    return np.where(n <= d - 2, under, np.where(n >= d + 2, over, np.inf))


@dataclass(frozen=True)
class LinearRegression(GaussianInputs):
    """Noisy linear regression in R^d for each d in `dims` (zero-padded to max(dims)); label noise of variance
    `noise_var` (> 0: the Bayes floor is then not zero and ridge's regularisation sigma^2 is defined)."""

    kind: ClassVar[str] = "regression"
    metric: ClassVar[str] = "excess squared error"
    risk_text: ClassVar[str] = "excess squared error on fresh queries"
    claim: ClassVar[str] = "regression: Bayes excess risk ~ sigma^2 d / N"
    exponent: ClassVar[float] = -1.0
    references: ClassVar[tuple[str, ...]] = ("bayes_floor",)
    compared: ClassVar[tuple[str, ...]] = ("ridge", "least_squares", "dmmse")
    # tr Sigma_N = sigma^2 tr (X^T X + sigma^2 I)^-1 <= sigma^2 tr (X^T X)^-1, whose mean is sigma^2 d / (N - d - 1)
    # (the mean of an inverse Wishart matrix; Anderson, An Introduction to Multivariate Statistical Analysis, 7.7)
    proven: ClassVar[dict[str, str]] = {
        "bayes_floor": "E tr Sigma_N <= sigma^2 d/(N - d - 1) (inverse-Wishart mean; Anderson 2003, 7.7)"
    }
    error_max: ClassVar[float] = float("inf")
    margin: ClassVar[float] = 0.05  # a fifth of the default noise variance sigma^2 = 0.25

    noise_var: float = documented(0.25, "variance of the Gaussian label noise sigma^2", flag="--noise-var")

    def __post_init__(self) -> None:
        super().__post_init__()
        require_real("noise_var", self.noise_var, 0.0, open_low=True)  # the label-noise variance sigma^2

    def sample(self, key, family, latent_key=None):
        d = jnp.asarray(self.dims)[family]
        task = sample(key, d, max(self.dims), self.n_max, self.noise_var, latent_key)
        return task | {"features": self.prompt(task["x"], task["y"]), "target": task["y"], "active": d}

    def loss(self, output, target):
        return (output - target) ** 2

    def truth(self, task):
        return task["y_clean"]

    def error(self, pred, truth):
        return (pred - truth) ** 2

    def baselines(self, tasks, keys, ev, pool=None):
        x, y = tasks["x"], tasks["y"]
        out = {name: fn(x, y) for name, fn in _VMAPPED.items()}
        out["ridge"] = _RIDGE(x, y, self.noise_var)
        if pool is not None:
            out["dmmse"] = _DMMSE(x, y, pool["w"], self.noise_var)
        return out

    def expected_errors(self, tasks):
        active = (jnp.arange(tasks["x"].shape[-1])[None, :] < tasks["active"][:, None]).astype(jnp.float32)
        return {"bayes_floor": _FLOOR(tasks["x"], self.noise_var, active)}

    def risk_queries(self, tasks, key, ev):
        queries, xq = self.fresh_inputs(tasks, key, ev.risk_queries)
        return queries, jnp.einsum("ekd,ed->ek", xq, tasks["w"])

    def figures(self, metrics, directory, prefix):
        ns = np.asarray(metrics["n_examples"])
        expected = {curve_key(p): least_squares_risk(p["d"], ns, self.noise_var) for p in self.curves}
        name = f"{prefix}double_descent.png"
        double_descent(metrics, expected, directory / name)
        return [("least squares peaks at N = d (double descent); in-context learning does not", name)]

    def checks(self):
        return (
            RatioCheck(
                "squared error at N = 2d over the Bayes (ridge) floor",
                "icl_risk",
                "bayes_floor",
                at=lambda p: 2 * int(p["d"]),
                threshold=1.5,
                offset=self.noise_var,
            ),
        )


def double_descent(metrics: dict, expected: dict, path: Path) -> None:
    """Regression: mean excess error vs N on a linear N axis, ICL beside least squares (measured, and its expectation
    in closed form, which diverges at N = d), ridge and the Bayes floor; one panel per d.

    expected: curve key -> least squares' expected excess error at every N (inf where it diverges).
    """
    from matplotlib.figure import Figure  # matplotlib only when a figure is drawn

    from simulations.plots import STYLE

    curves = metrics["curves"]
    fig = Figure(figsize=(4.6 * len(curves), 3.9))
    axes = fig.subplots(1, len(curves), squeeze=False)
    ns = np.asarray(metrics["n_examples"])
    shown = {
        "icl_risk": "ICL (per-task risk)",
        "least_squares": "least squares",
        "ridge": "ridge (Bayes)",
        "bayes_floor": "Bayes floor tr(Sigma_N)",
        "dmmse": "dMMSE (pool prior)",
    }
    for ax, curve in zip(axes[0], curves, strict=True):
        methods = curve["methods"]
        for name, label in shown.items():
            if name not in methods:
                continue
            m = methods[name]
            style = STYLE["icl"] if name == "icl_risk" else dict(lw=1.3)
            (line,) = ax.plot(ns, m["mean"], label=label, **style)
            ax.fill_between(ns, m["ci_low"], m["ci_high"], color=line.get_color(), alpha=0.15, lw=0)
        closed = np.asarray(expected[curve_key(curve["params"])], dtype=float)
        closed = np.where(np.isfinite(closed), closed, np.nan)  # a gap where the expectation is infinite
        ax.plot(ns, closed, "k:", lw=1.2, label="least squares, expected (closed form; infinite near N = d)")
        d = curve["params"]["d"]
        ax.axvline(d, color="gray", ls="--", lw=0.8, label=f"N = d = {d}")
        ax.set_yscale("log")
        top = max(max(methods["icl_risk"]["mean"]) if "icl_risk" in methods else 1.0, 1.0) * 20
        ax.set_ylim(None, top)
        ax.set_xlabel("N (in-context examples)")
        ax.set_ylabel(metrics["metric"])
        ax.set_title(f"d = {d}: least squares peaks at N = d, ICL does not")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{metrics['task']}: double descent of least squares (run {metrics['config_hash']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
