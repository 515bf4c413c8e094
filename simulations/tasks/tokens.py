"""Next-token laws: m contexts over V tokens, p(.|c) ~ Dirichlet(alpha 1_V) independently per context.

A prompt is n pairs (c_i, t_i) with c_i uniform over the m contexts and t_i ~ p(.|c_i); the pair after them is
the query. Contexts and tokens live in [0, m_max) and [0, V_max) so that one model serves every m <= m_max and
V <= V_max; inactive tokens have probability 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def sample(
    key: jax.Array, m: jax.Array, V: jax.Array, m_max: int, V_max: int, n: int, alpha: float = 1.0
) -> dict[str, jax.Array]:
    """One task and n + 1 pairs. Returns probs [m_max, V_max], c [n+1] int32, t [n+1] int32.

    `m` and `V` may be traced. Dirichlet draws use Gamma(alpha) variables, zeroed outside the active V.
    """
    kp, kc, kt = jax.random.split(key, 3)
    active = jnp.arange(V_max) < V
    g = jax.random.gamma(kp, alpha, (m_max, V_max)) * active
    probs = g / g.sum(-1, keepdims=True)
    c = jax.random.randint(kc, (n + 1,), 0, m)
    logits = jnp.where(active, jnp.log(jnp.maximum(probs[c], 1e-30)), -jnp.inf)
    t = jax.random.categorical(kt, logits, axis=-1)
    return {"probs": probs, "c": c.astype(jnp.int32), "t": t.astype(jnp.int32)}
