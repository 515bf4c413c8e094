"""Classical estimators on the same prompts as the model, for every prefix length N at once.

Each function takes one task's examples and returns, for N = 0..n, the prediction for example N made from
examples 0..N-1 (vmap over tasks). Prefixes are handled with masks, never a Python loop over N.

Classification (labels +-1; a prediction of 0 is a tie, scored as error 1/2):
  averaging      sign(<sum_i y_i x_i, x_N>)
  logistic       L2 logistic regression without intercept, min_w C sum_i log(1 + exp(-y_i <w, x_i>)) + |w|^2/2
                 with C = 100 (scikit-learn's LogisticRegression(C=100, fit_intercept=False)); damped Newton
  max_margin     linear SVM without intercept (dual box QP, 0 <= a_i <= C_svm, by FISTA with its step from a
                 power-iteration estimate of the largest eigenvalue; `kkt_residual` checks convergence)
  bayes          sign of the posterior predictive E[sign(<w, x_N>) | data] under w ~ N(0, I), noise-free labels:
                 the posterior over directions is uniform on the version space; exact for d = 2 (an arc,
                 `bayes_2d`), sampled by hit-and-run from independent starts otherwise (`bayes`)
Tokens (distributions over the V active tokens for the query context c_N):
  mle            empirical frequencies of the tokens that followed c_N (uniform when there are none)
  add_one        (counts + 1) / (n_c + V)
  posterior_mean Dirichlet posterior mean (counts + alpha) / (n_c + V alpha): Bayes-optimal under the task prior
                 for log loss (KL to the true law) and squared loss, not for TV (a baseline for TV, not a floor)
Regression (real-valued predictions of y_N; squared error against <w, x_N>):
  least_squares  minimum-norm ordinary least squares, pinv(X_N) y_N
  ridge          (X^T X + lam I)^{-1} X^T y; lam = sigma^2 is the Gaussian posterior mean (Bayes-optimal)
  averaging      (1/N) sum_i y_i x_i;  nearest_neighbours: mean label of the 3 nearest earlier examples
  dmmse          posterior mean under a uniform prior on a finite pool of w (Raventós et al. 2023)
  bayes_floor    the Bayes posterior's expected excess error tr(Sigma_N), exact given X_N
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


def logistic(x: jax.Array, y: jax.Array, C: float = 100.0, queries: jax.Array | None = None) -> jax.Array:
    """Predictions [n+1] for the prompt's own queries, or [n+1, K] for `queries` [K, d] after every prefix."""
    w = jax.vmap(lambda mk: logistic_weights(x, y, mk, C))(_prefix_masks(x.shape[0]))
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
    return jax.vmap(lambda mk: max_margin_weights(x, y, mk))(_prefix_masks(x.shape[0]))


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
        keys, _prefix_masks(x.shape[0]), w_mm, asked
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

    out = jax.vmap(one)(_prefix_masks(x.shape[0]), w_mm, chi)
    return out[:, 0] if own else out


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
    posterior_mean = (counts + alpha * active) / (total + alpha * V)
    return {"mle": mle, "add_one": add_one, "posterior_mean": posterior_mean}


# ---- regression ------------------------------------------------------------------------------------------------
# Each takes one task's x [n+1, d_max] and y [n+1] and returns, for N = 0..n, the prediction of y_N from the
# first N examples. Inactive coordinates are zero in every x, so the estimators live in the active ones.


def _masked(x: jax.Array, y: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    return x * mask[:, None], y * mask


def least_squares(x: jax.Array, y: jax.Array) -> jax.Array:
    """Ordinary least squares, minimum-norm when underdetermined: w_N = pinv(X_N) y_N."""

    def weights(mask):
        xm, ym = _masked(x, y, mask)
        return jnp.linalg.pinv(xm) @ ym

    return jnp.sum(jax.vmap(weights)(_prefix_masks(x.shape[0])) * x, axis=-1)


def ridge(x: jax.Array, y: jax.Array, lam: float) -> jax.Array:
    """Ridge regression w_N = (X_N^T X_N + lam I)^{-1} X_N^T y_N. With lam = sigma^2 and w ~ N(0, I) this is the
    posterior mean E[w | data]: the Bayes-optimal predictor under squared loss."""
    eye = jnp.eye(x.shape[1])

    def weights(mask):
        xm, ym = _masked(x, y, mask)
        return jnp.linalg.solve(xm.T @ xm + lam * eye, xm.T @ ym)

    return jnp.sum(jax.vmap(weights)(_prefix_masks(x.shape[0])) * x, axis=-1)


def averaging_regression(x: jax.Array, y: jax.Array) -> jax.Array:
    """w_N = (1/N) sum_{i<N} y_i x_i (Garg et al. 2022's averaging estimator); w_0 = 0."""
    masks = _prefix_masks(x.shape[0])
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
    loglik = -0.5 * (_prefix_masks(x.shape[0]) @ resid) / noise_var  # [N, k]
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

    return jax.vmap(floor)(_prefix_masks(x.shape[0]))
