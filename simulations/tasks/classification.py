"""Halfspaces: x ~ N(0, I_d), w ~ N(0, I_d), y = sign(<w, x>), labels flipped with probability `label_noise`.

Inputs live in R^{d_max}; coordinates d..d_max-1 are zero, so one model serves every d <= d_max
(the zero-padding curriculum of Garg et al. 2022). Error: 0-1 error against the clean teacher label
sign(<w, x>) (a tie counts 1/2). Baselines: averaging, logistic regression, max-margin and, for noise-free
labels, the Bayes-optimal posterior-predictive classifier. Each learner predicts, for N = 0..n, example N's label
from examples 0..N-1 (prefix masks, never a Python loop over N); a prediction of 0 is a tie, scored as error 1/2:

  averaging      sign(<sum_i y_i x_i, x_N>)
  logistic       L2 logistic regression without intercept, min_w C sum_i log(1 + exp(-y_i <w, x_i>)) + |w|^2/2
                 with C = 100 (scikit-learn's LogisticRegression(C=100, fit_intercept=False)); damped Newton
  max_margin     linear SVM without intercept (dual box QP, 0 <= a_i <= C_svm, by FISTA with its step from a
                 power-iteration estimate of the largest eigenvalue; `kkt_residual` checks convergence)
  bayes          sign of the posterior predictive E[sign(<w, x_N>) | data] under w ~ N(0, I), noise-free labels:
                 the posterior over directions is uniform on the version space; exact for d = 2 (an arc,
                 `bayes_2d`), sampled by hit-and-run from independent starts otherwise (`bayes`)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from simulations.tasks.base import documented, require_int
from simulations.tasks.gaussian import GaussianInputs, prefix_masks
from theory.errors import InputError

# ---- learners on the same prompts (each: one task, every prefix N at once; vmapped over tasks) -----------------------


def _score(w: jax.Array, x: jax.Array) -> jax.Array:
    """Predictions sign(<w_N, x_N>) for weight vectors w [n+1, d] and queries x [n+1, d]."""
    return jnp.sign(jnp.sum(w * x, axis=-1))


def averaging(x: jax.Array, y: jax.Array) -> jax.Array:
    w = prefix_masks(x.shape[0]) @ (y[:, None] * x)
    return _score(w, x)


def logistic_weights(x: jax.Array, y: jax.Array, mask: jax.Array, C: float = 100.0, iters: int = 30) -> jax.Array:
    """argmin_w C sum_i mask_i log(1 + exp(-y_i <w, x_i>)) + |w|^2 / 2, by Newton with a step-halving search."""
    d = x.shape[1]
    a = y[:, None] * x

    def objective(w):
        return C * jnp.sum(mask * jnp.logaddexp(0.0, -(a @ w))) + 0.5 * w @ w

    def step(w, _):
        s = jax.nn.sigmoid(-(a @ w))
        grad = -C * (mask * s) @ a + w
        hess = C * (a.T * (mask * s * (1 - s))) @ a + jnp.eye(d)
        delta = jnp.linalg.solve(hess, grad)
        sizes = 0.5 ** jnp.arange(12)
        values = jax.vmap(lambda t: objective(w - t * delta))(sizes)
        best = jnp.argmin(values)
        w_new = jnp.where(values[best] < objective(w), w - sizes[best] * delta, w)
        return w_new, None

    w, _ = jax.lax.scan(step, jnp.zeros(d), None, length=iters)
    return w


def logistic(x: jax.Array, y: jax.Array, C: float = 100.0, queries: jax.Array | None = None) -> jax.Array:
    """Predictions [n+1] for the prompt's own queries, or [n+1, K] for `queries` [K, d] after every prefix."""
    w = jax.vmap(lambda mk: logistic_weights(x, y, mk, C))(prefix_masks(x.shape[0]))
    return _score(w, x) if queries is None else jnp.sign(w @ queries.T)


def largest_eigenvalue(Q: jax.Array, iters: int = 50) -> jax.Array:
    """The largest eigenvalue of a symmetric PSD matrix, by power iteration from the all-ones vector (the
    Rayleigh quotient of the last iterate: a lower estimate, exact in the limit)."""
    v0 = jnp.ones(Q.shape[0]) / jnp.sqrt(Q.shape[0])

    def step(v, _):
        w = Q @ v
        return w / jnp.maximum(jnp.linalg.norm(w), 1e-30), None

    v, _ = jax.lax.scan(step, v0, None, length=iters)
    return v @ Q @ v


def _svm_dual(x: jax.Array, y: jax.Array, mask: jax.Array, C: float, iters: int):
    """FISTA on the dual min_a a^T Q a / 2 - 1^T a, 0 <= a <= C mask (Q_ij = y_i y_j <x_i, x_j>), step 1/L with L
    from power iteration (x 1.1: an upper estimate of the largest eigenvalue, so the step is safe). Returns the
    dual solution, Q and the box."""
    a_vec = y[:, None] * x
    Q = (a_vec @ a_vec.T) * mask[:, None] * mask[None, :]
    L = jnp.maximum(1.1 * largest_eigenvalue(Q), 1e-12)
    upper = C * mask

    def step(carry, _):
        alpha, z, t = carry
        new = jnp.clip(z - (Q @ z - 1.0) / L, 0.0, upper)
        t_next = (1 + jnp.sqrt(1 + 4 * t**2)) / 2
        z = new + ((t - 1) / t_next) * (new - alpha)
        return (new, z, t_next), None

    zero = jnp.zeros(x.shape[0])
    (alpha, _, _), _ = jax.lax.scan(step, (zero, zero, jnp.asarray(1.0)), None, length=iters)
    return alpha, Q, upper


def kkt_residual(x: jax.Array, y: jax.Array, mask: jax.Array, C: float = 1e4, iters: int = 2000) -> jax.Array:
    """Projected-gradient residual max_i |a_i - clip(a_i - (Q a - 1)_i, 0, C mask_i)| of the dual solution over
    the masked examples: 0 exactly at the optimum (the KKT conditions), the solver's convergence check."""
    alpha, Q, upper = _svm_dual(x, y, mask, C, iters)
    return jnp.max(mask * jnp.abs(alpha - jnp.clip(alpha - (Q @ alpha - 1.0), 0.0, upper)))


def max_margin_weights(x: jax.Array, y: jax.Array, mask: jax.Array, C: float = 1e4, iters: int = 2000) -> jax.Array:
    """Soft-margin SVM without intercept, large C: the dual by FISTA (`_svm_dual`); w = sum_i a_i y_i x_i. With
    separable data and C large this is the hard-margin solution."""
    alpha, _, _ = _svm_dual(x, y, mask, C, iters)
    return alpha @ (y[:, None] * x)


def max_margin_path(x: jax.Array, y: jax.Array) -> jax.Array:
    """Max-margin weights of every prefix: [n+1, d] (row N from examples 0..N-1)."""
    return jax.vmap(lambda mk: max_margin_weights(x, y, mk))(prefix_masks(x.shape[0]))


def max_margin(x: jax.Array, y: jax.Array) -> jax.Array:
    return _score(max_margin_path(x, y), x)


def _hit_and_run(key, a, mask, active, w0, steps):
    """Hit-and-run in {w : <a_i, w> >= 0 for masked i, |w| <= 1, w in the active coordinates}, from w0."""

    def step(w, k):
        ku, kt = jax.random.split(k)
        u = jax.random.normal(ku, w.shape) * active
        u = u / jnp.linalg.norm(u)
        au, aw = a @ u, a @ w
        # each constraint aw + t au >= 0 bounds t from one side; unconstrained rows are ignored
        ratio = -aw / jnp.where(au == 0, 1.0, au)
        lo_c = jnp.max(jnp.where((mask > 0) & (au > 0), ratio, -jnp.inf))
        hi_c = jnp.min(jnp.where((mask > 0) & (au < 0), ratio, jnp.inf))
        b = w @ u
        disc = jnp.sqrt(jnp.maximum(b**2 - (w @ w - 1.0), 0.0))
        lo, hi = jnp.maximum(lo_c, -b - disc), jnp.minimum(hi_c, -b + disc)
        t = lo + (hi - lo) * jax.random.uniform(kt)
        return jnp.where(hi > lo, w + t * u, w), None

    w, _ = jax.lax.scan(step, w0, jax.random.split(key, steps))
    return w


def _starts(key: jax.Array, a: jax.Array, mask: jax.Array, active: jax.Array, w_mm: jax.Array, chains: int):
    """Independent starting points inside the version space: uniform in the ball of radius gamma / 2 around
    w_mm / (2 |w_mm|), gamma = the normalised max-margin direction's smallest margin <a_i, w>/|a_i| (every point
    of that ball satisfies every constraint strictly and lies in the unit ball)."""
    norm = jnp.linalg.norm(w_mm)
    direction = jnp.where(norm > 0, w_mm / jnp.where(norm > 0, norm, 1.0), 0.0)
    margins = (a @ direction) / jnp.maximum(jnp.linalg.norm(a, axis=-1), 1e-30)
    gamma = jnp.clip(jnp.min(jnp.where(mask > 0, margins, 1.0)), 0.0, 1.0)
    ku, kr = jax.random.split(key)
    u = jax.random.normal(ku, (chains, a.shape[-1])) * active
    u = u / jnp.maximum(jnp.linalg.norm(u, axis=-1, keepdims=True), 1e-30)
    dims = jnp.maximum(active.sum(), 1.0)
    r = 0.5 * gamma * jax.random.uniform(kr, (chains, 1)) ** (1.0 / dims)
    return 0.5 * direction + r * u


def bayes_vote(key, a, mask, active, w_mm, queries, chains: int, steps: int) -> jax.Array:
    """Posterior predictive votes (mean of sign(<w, q>) over chains) for one prefix and queries [..., d], from
    `chains` independent hit-and-run chains of `steps` steps each (one set of samples serves every query)."""
    kc, ks = jax.random.split(key)
    starts = _starts(ks, a, mask, active, w_mm, chains)
    ws = jax.vmap(lambda k, w0: _hit_and_run(k, a, mask, active, w0, steps))(jax.random.split(kc, chains), starts)
    return jnp.mean(jnp.sign(queries @ ws.T), axis=-1)


def bayes(
    key: jax.Array,
    x: jax.Array,
    y: jax.Array,
    active: jax.Array,
    w_mm: jax.Array,
    chains: int = 33,
    steps: int = 60,
    queries: jax.Array | None = None,
) -> jax.Array:
    """Posterior-predictive classifier for noise-free labels, from `chains` hit-and-run chains per prefix (odd:
    no exact ties), started independently around the max-margin solution of that prefix (w_mm [n+1, d],
    `max_margin_path`). Returns predictions [n+1] for the prompt's own queries (0 = tie), or [n+1, K] for
    `queries` [K, d] asked after every prefix."""
    a = y[:, None] * x
    keys = jax.random.split(key, x.shape[0])
    own = queries is None
    asked = x[:, None] if own else jnp.broadcast_to(queries, (x.shape[0], *queries.shape))
    votes = jax.vmap(lambda k, mk, w, q: bayes_vote(k, a, mk, active, w, q, chains, steps))(
        keys, prefix_masks(x.shape[0]), w_mm, asked
    )
    return jnp.sign(votes[:, 0] if own else votes)


def _wrap(angle: jax.Array) -> jax.Array:
    """Angles to (-pi, pi]."""
    return jnp.pi - jnp.mod(jnp.pi - angle, 2 * jnp.pi)


def bayes_2d(x: jax.Array, y: jax.Array, w_mm: jax.Array, queries: jax.Array | None = None) -> jax.Array:
    """The exact Bayes-optimal classifier for d = 2 and noise-free labels, for every prefix: [n+1] for the
    prompt's own queries, or [n+1, K] for `queries` [K, d] asked after every prefix (0 = tie).

    Under w ~ N(0, I_2) the direction of w is uniform on the circle, so the posterior given examples (x_i, y_i)
    is uniform on the version space, the arc of angles theta with <y_i x_i, (cos theta, sin theta)> >= 0 for
    every i. Measured from the max-margin direction psi (inside the arc), example i allows
    [delta_i - pi/2, delta_i + pi/2] with delta_i the angle of y_i x_i minus psi, so the arc is
    [max_i delta_i - pi/2, min_i delta_i + pi/2]. The query is labelled +1 by the half of the arc's length (or
    more) that lies within pi/2 of its own angle: the posterior predictive P(y = +1) is that fraction.
    """
    a = y[:, None] * x[:, :2]
    phi = jnp.arctan2(a[:, 1], a[:, 0])
    own = queries is None
    q = x[:, None, :2] if own else jnp.broadcast_to(queries[:, :2], (x.shape[0], queries.shape[0], 2))
    chi = jnp.arctan2(q[..., 1], q[..., 0])  # [n+1, K]

    def one(mask, w, q_angles):
        return jax.vmap(lambda angle: vote(mask, w, angle))(q_angles)

    def vote(mask, w, q_angle):
        psi = jnp.arctan2(w[1], w[0])
        delta = _wrap(phi - psi)
        lower = jnp.max(jnp.where(mask > 0, delta, -jnp.inf)) - jnp.pi / 2
        upper = jnp.min(jnp.where(mask > 0, delta, jnp.inf)) + jnp.pi / 2
        lower, upper = jnp.maximum(lower, -jnp.pi), jnp.minimum(upper, jnp.pi)
        centre = _wrap(q_angle - psi)
        # length of [lower, upper] within pi/2 of the query's angle, on the circle (three windings cover it)
        shifts = jnp.array([-2 * jnp.pi, 0.0, 2 * jnp.pi])
        lo = jnp.maximum(lower, centre + shifts - jnp.pi / 2)
        hi = jnp.minimum(upper, centre + shifts + jnp.pi / 2)
        positive = jnp.sum(jnp.maximum(hi - lo, 0.0))
        length = upper - lower
        p = positive / jnp.where(length > 0, length, 1.0)
        vote = jnp.where(length > 0, 2 * p - 1, 0.0)
        return jnp.where(jnp.abs(vote) < 1e-6, 0.0, jnp.sign(vote))

    out = jax.vmap(one)(prefix_masks(x.shape[0]), w_mm, chi)
    return out[:, 0] if own else out


BASELINES = {"averaging": averaging, "logistic": logistic}  # per task; vmapped over tasks


def sample(
    key: jax.Array, d: jax.Array, d_max: int, n: int, noise: float = 0.0, latent_key: jax.Array | None = None
) -> dict[str, jax.Array]:
    """One task and n + 1 examples (the last is the query of the largest prompt).

    Returns w [d_max], x [n+1, d_max], y [n+1] (observed, possibly flipped) and y_clean [n+1], all float32.
    `d` may be traced (a different active dimension per task under vmap); latent_key, when given, draws w.
    """
    kw, kx, kn = jax.random.split(key, 3)
    kw = kw if latent_key is None else latent_key
    active = (jnp.arange(d_max) < d).astype(jnp.float32)
    w = jax.random.normal(kw, (d_max,)) * active
    x = jax.random.normal(kx, (n + 1, d_max)) * active
    y_clean = jnp.where(x @ w >= 0, 1.0, -1.0)
    flip = jax.random.bernoulli(kn, noise, (n + 1,))
    y = jnp.where(flip, -y_clean, y_clean)
    return {"w": w, "x": x, "y": y, "y_clean": y_clean}


def zero_one(pred, truth):
    """0-1 error of +-1 predictions; a tie (0) counts 1/2."""
    return jnp.where(pred == 0, 0.5, (pred != truth).astype(jnp.float32))


@dataclass(frozen=True)
class Halfspaces(GaussianInputs):
    """Halfspaces in R^d for each d in `dims` (zero-padded to max(dims)); labels flipped with probability
    `label_noise`. The Bayes-optimal classifier's sampler (for d > 2) runs `bayes_chains` hit-and-run chains of
    `bayes_steps` steps per (task, prefix): evaluation settings of this family alone, so they are its fields."""

    kind: ClassVar[str] = "classification"
    metric: ClassVar[str] = "0-1 error"
    risk_text: ClassVar[str] = "0-1 error on fresh queries"
    claim: ClassVar[str] = "paper.linear-classification"
    exponent: ClassVar[float] = -1.0
    bounds: ClassVar[tuple[str, ...]] = (
        "paper.linear-classification",
        "vc.hanneke",
        "vc.ssbd-realizable",
        "vc.blumer",
    )
    references: ClassVar[tuple[str, ...]] = ("bayes", "logistic")
    # The Bayes rule's risk averaged over the prior is at most any predictor's, so at most the one-inclusion graph
    # predictor's d/(N + 1) (VC dimension d); at d = 2 it is exactly 1/(2(N + 1)). Logistic regression (the
    # fallback under label noise) has no proved rate against the clean labels.
    proven: ClassVar[dict[str, str]] = {
        "bayes": "E risk <= d/(N + 1): Haussler, Littlestone & Warmuth, Inform. Comput. 115(2):248-292 (1994)"
    }
    finetune_reference: ClassVar[str | None] = "logistic"

    label_noise: float = documented(0.0, "probability that a label is flipped, in [0, 0.5)", flag="--label-noise")
    bayes_chains: int = documented(
        33, "hit-and-run chains per (task, prefix) of the sampled Bayes-optimal classifier (odd: no tied votes)"
    )
    bayes_steps: int = documented(60, "hit-and-run steps per chain of the sampled Bayes-optimal classifier")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.label_noise < 0.5:
            raise InputError(f"label_noise must be in [0, 0.5); got {self.label_noise}")
        require_int("bayes_steps", self.bayes_steps, 1)
        odd = "an odd integer >= 1 (no tied votes)"
        require_int("bayes_chains", self.bayes_chains, 1, text=odd)
        if self.bayes_chains % 2 == 0:
            raise InputError(f"bayes_chains must be {odd}; got {self.bayes_chains}")

    def sample(self, key, family, latent_key=None):
        d = jnp.asarray(self.dims)[family]
        task = sample(key, d, max(self.dims), self.n_max, self.label_noise, latent_key)
        return task | {"features": self.prompt(task["x"], task["y"]), "target": task["y"], "active": d}

    def loss(self, output, target):
        """Logistic loss of logits against +-1 labels."""
        return jax.nn.softplus(-target * output)

    def prediction(self, output):
        return np.sign(output)

    def truth(self, task):
        return task["y_clean"]

    def error(self, pred, truth):
        return zero_one(pred, truth)

    def disagreement(self, a, b):
        return (a != b).astype(np.float32)

    def baselines(self, tasks, keys, ev, pool=None):
        x, y = tasks["x"], tasks["y"]
        out = {name: jax.vmap(fn)(x, y) for name, fn in BASELINES.items()}
        w_mm = jax.vmap(max_margin_path)(x, y)  # [E, n+1, d]
        out["max_margin"] = jnp.sign(jnp.einsum("end,end->en", w_mm, x))
        return out

    def reference_predictions(self, tasks, queries, keys, ev):
        """Logistic regression and, for noise-free labels, the Bayes-optimal classifier (exact for d = 2, the
        version space being an arc; hit-and-run otherwise, one set of chains per prefix serving every query)."""
        x, y = tasks["x"], tasks["y"]
        xq = queries[..., : x.shape[-1]]  # a query token holds its input first (prompts.vector_queries)
        preds = {"logistic": jax.vmap(lambda a, b, q: logistic(a, b, queries=q))(x, y, xq)}
        if self.label_noise == 0:  # the version-space posterior needs noise-free labels
            w_mm = jax.vmap(max_margin_path)(x, y)  # the sampler's centre, and a point inside the arc
            active = (jnp.arange(x.shape[-1])[None, :] < tasks["active"][:, None]).astype(jnp.float32)
            chains, steps = self.bayes_chains, self.bayes_steps

            def exact(_):
                return jax.vmap(bayes_2d)(x, y, w_mm, xq)

            def sampled(_):
                vote = jax.vmap(lambda k, a, b, c, w, q: bayes(k, a, b, c, w, chains, steps, q))
                return vote(keys, x, y, active, w_mm, xq)

            # a curve has one d: the whole chunk takes one branch, and only that branch runs
            preds["bayes"] = jax.lax.cond(jnp.all(tasks["active"] == 2), exact, sampled, None)
        return preds

    def risk_queries(self, tasks, key, ev):
        """`risk_queries` fresh inputs per task; their error estimates the task's true error without bias
        (binomial noise of sd <= 0.5 / sqrt(risk_queries))."""
        queries, xq = self.fresh_inputs(tasks, key, ev.risk_queries)
        return queries, jnp.where(jnp.einsum("ekd,ed->ek", xq, tasks["w"]) >= 0, 1.0, -1.0)
