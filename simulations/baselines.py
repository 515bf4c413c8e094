"""Classical estimators on the same prompts as the model, for every prefix length N at once.

Each function takes one task's examples and returns, for N = 0..n, the prediction for example N made from
examples 0..N-1 (vmap over tasks). Prefixes are handled with masks, never a Python loop over N.

Classification (labels +-1; a prediction of 0 is a tie, scored as error 1/2):
  averaging      sign(<sum_i y_i x_i, x_N>)
  logistic       L2 logistic regression without intercept, min_w C sum_i log(1 + exp(-y_i <w, x_i>)) + |w|^2/2
                 with C = 100 (scikit-learn's LogisticRegression(C=100, fit_intercept=False)); damped Newton
  max_margin     linear SVM without intercept (dual box QP, 0 <= a_i <= C_svm, by projected gradient / FISTA)
  bayes          sign of the posterior predictive E[sign(<w, x_N>) | data] under w ~ N(0, I), noise-free labels:
                 the posterior over directions is uniform on the version space, sampled by hit-and-run
Tokens (distributions over the V active tokens for the query context c_N):
  mle            empirical frequencies of the tokens that followed c_N (uniform when there are none)
  add_one        (counts + 1) / (n_c + V)
  bayes          Dirichlet posterior mean (counts + alpha) / (n_c + V alpha) -- Bayes-optimal for TV-type losses
                 under the task prior
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# ---- classification ------------------------------------------------------------------------------------------


def _prefix_masks(n_plus_1: int) -> jax.Array:
    """[N, i] = 1 if example i is among the first N (i < N), for N = 0..n."""
    idx = jnp.arange(n_plus_1)
    return (idx[None, :] < idx[:, None]).astype(jnp.float32)


def _score(w: jax.Array, x: jax.Array) -> jax.Array:
    """Predictions sign(<w_N, x_N>) for weight vectors w [n+1, d] and queries x [n+1, d]."""
    return jnp.sign(jnp.sum(w * x, axis=-1))


def averaging(x: jax.Array, y: jax.Array) -> jax.Array:
    w = _prefix_masks(x.shape[0]) @ (y[:, None] * x)
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


def logistic(x: jax.Array, y: jax.Array, C: float = 100.0) -> jax.Array:
    w = jax.vmap(lambda mk: logistic_weights(x, y, mk, C))(_prefix_masks(x.shape[0]))
    return _score(w, x)


def max_margin_weights(x: jax.Array, y: jax.Array, mask: jax.Array, C: float = 1e4, iters: int = 2000) -> jax.Array:
    """Soft-margin SVM without intercept, large C: the dual min_a a^T Q a / 2 - 1^T a, 0 <= a <= C mask, by
    FISTA; w = sum_i a_i y_i x_i. With separable data and C large this is the hard-margin solution."""
    a_vec = y[:, None] * x
    Q = a_vec @ a_vec.T
    L = jnp.maximum(jnp.trace(Q * mask[:, None] * mask[None, :]), 1e-12)  # >= the largest eigenvalue
    upper = C * mask

    def step(carry, _):
        alpha, z, t = carry
        new = jnp.clip(z - (Q @ z - 1.0) / L, 0.0, upper)
        t_next = (1 + jnp.sqrt(1 + 4 * t**2)) / 2
        z = new + ((t - 1) / t_next) * (new - alpha)
        return (new, z, t_next), None

    zero = jnp.zeros(x.shape[0])
    (alpha, _, _), _ = jax.lax.scan(step, (zero, zero, jnp.asarray(1.0)), None, length=iters)
    return alpha @ a_vec


def max_margin(x: jax.Array, y: jax.Array) -> jax.Array:
    w = jax.vmap(lambda mk: max_margin_weights(x, y, mk))(_prefix_masks(x.shape[0]))
    return _score(w, x)


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


def bayes(
    key: jax.Array, x: jax.Array, y: jax.Array, active: jax.Array, chains: int = 32, steps: int = 60
) -> jax.Array:
    """Posterior-predictive classifier for noise-free labels, from `chains` hit-and-run chains per prefix.

    Chains start at half the normalised max-margin solution, strictly inside the version space when the
    prefix is separable (always, for noise-free labels). Returns predictions [n+1] (0 = tie).
    """
    masks = _prefix_masks(x.shape[0])
    a = y[:, None] * x

    def per_prefix(k, mask, query):
        w_mm = max_margin_weights(x, y, mask)
        norm = jnp.linalg.norm(w_mm)
        w0 = jnp.where(norm > 0, 0.5 * w_mm / jnp.where(norm > 0, norm, 1.0), 0.0)
        ws = jax.vmap(lambda kc: _hit_and_run(kc, a, mask, active, w0, steps))(jax.random.split(k, chains))
        return jnp.sign(jnp.mean(jnp.sign(ws @ query)))

    keys = jax.random.split(key, x.shape[0])
    return jax.vmap(per_prefix)(keys, masks, x)


# ---- tokens ----------------------------------------------------------------------------------------------------


def context_counts(c: jax.Array, t: jax.Array, m_max: int, V_max: int) -> jax.Array:
    """counts[N, v] = #{i < N : c_i = c_N, t_i = v} for N = 0..n: [n+1, V_max]."""
    joint = jax.nn.one_hot(c, m_max)[:, :, None] * jax.nn.one_hot(t, V_max)[:, None, :]  # [n+1, m, V]
    before = jnp.cumsum(joint, axis=0) - joint  # exclusive prefix sums
    return jnp.take_along_axis(before, c[:, None, None], axis=1)[:, 0, :]


def token_estimates(counts: jax.Array, V: jax.Array, alpha: float) -> dict[str, jax.Array]:
    """MLE, add-one and Dirichlet-posterior-mean distributions over the V active tokens: each [n+1, V_max]."""
    active = (jnp.arange(counts.shape[-1]) < V).astype(jnp.float32)
    total = counts.sum(-1, keepdims=True)
    uniform = active / V
    mle = jnp.where(total > 0, counts / jnp.maximum(total, 1.0), uniform)
    add_one = (counts + active) / (total + V)
    bayes_mean = (counts + alpha * active) / (total + alpha * V)
    return {"mle": mle, "add_one": add_one, "bayes": bayes_mean}
