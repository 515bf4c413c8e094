"""The reference learners against their closed forms at d = 2, where the version space is an arc.

N inputs cut the half-circle of normal directions into N + 1 uniform spacings (the true direction is one more
uniform point); the version space around w is the two spacings beside it. The Bayes rule votes with the arc's
midpoint, so its per-task risk |S_1 - S_2| / 2 is distributed as (1/2) Beta(1, N), mean 1/(2(N + 1)); Gibbs
learning (a uniform draw from the arc) has mean risk 2/(3(N + 1)).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from simulations.tasks import classification

TASKS = 1500


def tasks(n: int, seed: int):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(TASKS, 2))
    x = rng.normal(size=(TASKS, n + 1, 2)).astype(np.float32)
    y = np.where(np.einsum("tnd,td->tn", x, w) >= 0, 1.0, -1.0).astype(np.float32)
    return w, jnp.asarray(x), jnp.asarray(y)


@pytest.mark.parametrize("n", [4, 16])
def test_exact_bayes_rule_risk_is_half_a_beta_1_n(n):
    """Per-task risk on a grid of 720 query directions (the 0-1 risk of a direction is the fraction of the circle
    it misclassifies, exact to 1/720): its law is (1/2) Beta(1, N) by a KS test, its mean 1/(2(N + 1))."""
    w, x, y = tasks(n, seed=n)
    theta = (np.arange(720) + 0.5) * 2 * np.pi / 720
    queries = jnp.asarray(np.stack([np.cos(theta), np.sin(theta)], 1), dtype=jnp.float32)
    inside = jnp.asarray(np.broadcast_to(w[:, None], (TASKS, n + 1, 2)), dtype=jnp.float32)  # w: in every arc
    pred = np.asarray(jax.vmap(lambda a, b, m: classification.bayes_2d(a, b, m, queries))(x, y, inside))[:, n]  # [T, K]
    truth = np.where(w @ np.asarray(queries).T >= 0, 1.0, -1.0)
    risk = np.where(pred == 0, 0.5, pred != truth).mean(-1)
    assert stats.kstest(2 * risk, stats.beta(1, n).cdf).pvalue > 0.001
    se = risk.std() / np.sqrt(TASKS)
    assert abs(risk.mean() - 1 / (2 * (n + 1))) < 4 * se + 1 / 720


def test_the_sampler_draws_gibbs_uniformly_from_the_arc():
    """One hit-and-run draw per task from the version space (the sampler behind the Bayes rule for d > 2) has the
    Gibbs learner's mean risk angle / pi = 2/(3(N + 1)): the sampler is uniform on the arc."""
    n = 8
    w, x, y = tasks(n, seed=3)
    mask = jnp.ones(n + 1).at[n].set(0.0)
    active = jnp.ones(2)

    def one(key, a_x, a_y):
        a = a_y[:, None] * a_x
        w_mm = classification.max_margin_weights(a_x, a_y, mask)  # the sampler starts around it, as in evaluation
        start = classification._starts(key, a, mask, active, w_mm, 1)[0]
        return classification._hit_and_run(jax.random.fold_in(key, 1), a, mask, active, start, 60)

    keys = jax.random.split(jax.random.PRNGKey(0), TASKS)
    drawn = np.asarray(jax.vmap(one)(keys, x, y))
    cos = np.sum(drawn * w, 1) / (np.linalg.norm(drawn, axis=1) * np.linalg.norm(w, axis=1))
    risk = np.arccos(np.clip(cos, -1, 1)) / np.pi
    se = risk.std() / np.sqrt(TASKS)
    assert abs(risk.mean() - 2 / (3 * (n + 1))) < 4 * se


def test_posterior_mean_tv_is_within_its_proved_bound():
    """E TV of the Dirichlet posterior mean <= (1/2) sqrt(m V / (N + 1)) (Task.proven), by Monte Carlo; the
    add-alpha estimators' curves that the calibration uses agree at N = 0 with the uniform law's mean TV."""
    from iclverify.calibrate import token_estimators

    n = np.arange(33)
    for m, v in ((1, 2), (2, 4), (4, 8)):
        tv = token_estimators(m, v, 32)[1.0]
        assert np.all(tv <= 0.5 * np.sqrt(m * v / (n + 1)))
        assert np.all(np.diff(tv) < 0.01)  # decreasing up to Monte-Carlo noise


def test_bayes_floor_is_within_its_proved_bound():
    """E tr Sigma_N <= sigma^2 d / (N - d - 1) for N > d + 1 (inverse-Wishart mean), and = d with no example."""
    from iclverify.calibrate import regression_floor

    for d in (1, 3, 8):
        floor = regression_floor(d, 64, 0.25)
        n = np.arange(65)
        over = n > d + 1
        assert floor[0] == d and np.all(floor[over] <= 0.25 * d / (n[over] - d - 1) * 1.02)
