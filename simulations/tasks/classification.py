"""Halfspaces: x ~ N(0, I_d), w ~ N(0, I_d), y = sign(<w, x>), labels flipped with probability `noise`.

Inputs live in R^{d_max}; coordinates d..d_max-1 are zero, so one model serves every d <= d_max
(the zero-padding curriculum of Garg et al. 2022).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def sample(key: jax.Array, d: jax.Array, d_max: int, n: int, noise: float = 0.0) -> dict[str, jax.Array]:
    """One task and n + 1 examples (the last is the query of the largest prompt).

    Returns w [d_max], x [n+1, d_max], y [n+1] (observed, possibly flipped) and y_clean [n+1], all float32.
    `d` may be traced (a different active dimension per task under vmap).
    """
    kw, kx, kn = jax.random.split(key, 3)
    active = (jnp.arange(d_max) < d).astype(jnp.float32)
    w = jax.random.normal(kw, (d_max,)) * active
    x = jax.random.normal(kx, (n + 1, d_max)) * active
    y_clean = jnp.where(x @ w >= 0, 1.0, -1.0)
    flip = jax.random.bernoulli(kn, noise, (n + 1,))
    y = jnp.where(flip, -y_clean, y_clean)
    return {"w": w, "x": x, "y": y, "y_clean": y_clean}
