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
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from simulations import baselines
from simulations.tasks.base import RatioCheck, documented, require_real
from simulations.tasks.gaussian import GaussianInputs

_VMAPPED = {
    "least_squares": jax.jit(jax.vmap(baselines.least_squares)),
    "averaging": jax.jit(jax.vmap(baselines.averaging_regression)),
    "nearest_neighbours": jax.jit(jax.vmap(baselines.nearest_neighbours)),
}
_RIDGE = jax.jit(jax.vmap(baselines.ridge, in_axes=(0, 0, None)))
_DMMSE = jax.jit(jax.vmap(baselines.discrete_posterior_mean, in_axes=(0, 0, None, None)))
_FLOOR = jax.jit(jax.vmap(baselines.bayes_floor, in_axes=(0, None, 0)))


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

    noise_var: float = documented(0.25, "variance of the Gaussian label noise sigma^2")

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
        from simulations import plots  # matplotlib only when a figure is drawn

        ns = np.asarray(metrics["n_examples"])
        expected = {f"d={p['d']}": least_squares_risk(p["d"], ns, self.noise_var) for p in self.curves}
        name = f"{prefix}double_descent.png"
        plots.double_descent(metrics, expected, directory / name)
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
