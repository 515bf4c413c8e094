"""Prompt encoding: each example becomes a query token and a demonstration token.

Layout for n examples plus a final query (length 2n + 1):

    q_0, d_0, q_1, d_1, ..., q_{n-1}, d_{n-1}, q_n

q_i carries the input alone (x_i, or context c_i) and is where the model predicts; d_i carries the input with
its answer (x_i and y_i, or c_i and t_i), an explicit pairing so that one attention layer can match a query to
the demonstrations that answer it -- the order of the examples then carries nothing. In the `pairs` layout of
vector tasks d_i carries y_i alone, so that a model must bind each label to the input before it by position
(Garg et al. 2022's layout), and position schemes can differ. Under causal attention the prediction at q_i has
seen exactly i demonstrations, so one forward pass gives the prediction for every N = 0..n. (A token packing
x_i with the *previous* label did not learn in 2000 steps in our trials on a 2-core CPU.)
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp


def _interleave(queries: jax.Array, demos: jax.Array) -> jax.Array:
    """[n+1, F] queries and [n, F] demonstrations -> [2n+1, F] in the layout above."""
    n = demos.shape[0]
    pairs = jnp.stack([queries[:n], demos], axis=1).reshape(2 * n, -1)
    return jnp.concatenate([pairs, queries[n:]], axis=0)


def vector_queries(x: jax.Array) -> jax.Array:
    """x [k, d_max] -> query tokens [k, d_max + 3] = [x, 0, 1, 0]."""
    zeros, ones = jnp.zeros((x.shape[0], 1)), jnp.ones((x.shape[0], 1))
    return jnp.concatenate([x, zeros, ones, zeros], axis=1)


def vectors(x: jax.Array, y: jax.Array, pairs: bool = False) -> jax.Array:
    """x [n+1, d_max], y [n+1] (a +-1 label or a real value) -> features [2n+1, d_max + 3] =
    [x, y, is_query, is_demo]. With `pairs`, a demonstration carries its label alone ([0, y, 0, 1]): the label
    is bound to its input x_i (the token q_i just before it) by position only."""
    n = x.shape[0] - 1
    zeros, ones = jnp.zeros((n + 1, 1)), jnp.ones((n + 1, 1))
    demos = jnp.concatenate([x * (0.0 if pairs else 1.0), y[:, None], zeros, ones], axis=1)[:n]
    return _interleave(vector_queries(x), demos)


def tokens_queries(c: jax.Array, m_max: int, V_max: int) -> jax.Array:
    """Contexts c [k] -> query tokens [k, m_max + V_max + 2] = [onehot c, 0, 1, 0]."""
    zeros, ones = jnp.zeros((c.shape[0], 1)), jnp.ones((c.shape[0], 1))
    return jnp.concatenate([jax.nn.one_hot(c, m_max), jnp.zeros((c.shape[0], V_max)), ones, zeros], axis=1)


def tokens(c: jax.Array, t: jax.Array, m_max: int, V_max: int) -> jax.Array:
    """c, t [n+1] -> features [2n+1, m_max + V_max + 2] = [onehot c, onehot t (demos only), is_query, is_demo]."""
    n = c.shape[0] - 1
    zeros, ones = jnp.zeros((n + 1, 1)), jnp.ones((n + 1, 1))
    demos = jnp.concatenate([jax.nn.one_hot(c, m_max), jax.nn.one_hot(t, V_max), zeros, ones], axis=1)[:n]
    return _interleave(tokens_queries(c, m_max, V_max), demos)


def query_positions(n: int) -> jax.Array:
    """Positions of q_0..q_n: where the prediction after N = 0..n demonstrations is read."""
    return 2 * jnp.arange(n + 1)


def causal_mask(length: int) -> jax.Array:
    return jnp.tril(jnp.ones((length, length), dtype=bool))


def bidirectional_mask(length: int, n_demos: jax.Array, pairs: bool = False) -> jax.Array:
    """Full attention among the first `n_demos` demonstrations and the query q_{n_demos}; all else hidden. With
    `pairs` (labels apart from their inputs) the earlier queries q_0..q_{n_demos - 1}, which hold those inputs,
    are visible too: the first 2 n_demos + 1 tokens.

    Every token keeps itself visible, so rows of hidden tokens stay well defined (their outputs are unused).
    """
    pos = jnp.arange(length)
    earlier = pos < 2 * n_demos if pairs else (pos % 2 == 1) & (pos < 2 * n_demos)
    visible = earlier | (pos == 2 * n_demos)
    return (visible[None, :] & visible[:, None]) | jnp.eye(length, dtype=bool)


def extra_queries(
    n: int, queries: jax.Array, prefixes: Sequence[int] | None = None
) -> tuple[jax.Array, jax.Array]:
    """Ask k extra queries [k, F] after each prefix N of a causal prompt of n examples (default every N = 0..n):
    the queries repeated once per prefix [P k, F], and for each copy the number of prompt tokens it may see, 2N,
    which is also its position id -- exactly what q_N sees in the prompt (the first 2N tokens, d_0..d_{N-1} with
    their queries), with q_N replaced (Transformer.extended)."""
    prefixes = jnp.arange(n + 1) if prefixes is None else jnp.asarray(prefixes)
    return jnp.tile(queries, (prefixes.shape[0], 1)), 2 * jnp.repeat(prefixes, queries.shape[0])
