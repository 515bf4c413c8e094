"""Bounded context: a window of T tokens holds k = (T - 1) // 2 examples and the query; a larger dataset is cut
to k examples by a selection policy.

Policies (each returns an ordering of the dataset whose first k entries are the examples kept for a window of k,
for every k at once -- the kept sets are nested, so one causal pass over the reordered prompt evaluates every
window size):

  random     a uniformly random subset (a random permutation)
  retrieval  tokens: the examples whose context equals the query's, in dataset order, then the others;
             classification: the examples nearest to the query (Euclidean), nearest first
  recent     the last examples of the dataset, most recent first

All functions are pure and jit/vmap-safe.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from theory.errors import InputError

POLICIES = ("random", "retrieval", "recent")


def capacity(window: int) -> int:
    """Examples that fit in a window of `window` tokens beside the query (each example takes two tokens).

    Args:
        window: the window's length in tokens (int), >= 1.

    Returns:
        (window - 1) // 2, the number of (context, token) examples the window holds.

    Raises:
        InputError: window < 1.
    """
    if window < 1:
        raise InputError(f"window must be an integer >= 1; got {window}")
    return (window - 1) // 2


def order(policy: str, key: jax.Array, inputs: jax.Array, query: jax.Array) -> jax.Array:
    """Dataset indices [N] in the policy's order (see the module docstring).

    The first k entries are the examples a window of k keeps, for every k at once. Ties (retrieval) keep dataset
    order (stable sort).

    Args:
        policy: one of POLICIES (random, retrieval, recent); a Python string, static under jit.
        key: the JAX PRNG key of the random policy (unused by the others).
        inputs: contexts [N] (int, tokens: retrieval puts the matches of query first) or inputs [N, d] (float,
            classification: retrieval sorts by squared Euclidean distance to query, nearest first).
        query: the query's context (an int scalar) or input [d].

    Returns:
        A permutation of 0..N-1, int [N].

    Raises:
        InputError: an unknown policy.
    """
    n = inputs.shape[0]
    if policy == "random":
        return jax.random.permutation(key, n)
    if policy == "recent":
        return jnp.arange(n)[::-1]
    if policy == "retrieval":
        if inputs.ndim == 1:  # contexts: matches first, stable
            return jnp.argsort(jnp.where(inputs == query, 0, 1), stable=True)
        return jnp.argsort(jnp.sum((inputs - query) ** 2, axis=-1), stable=True)
    raise InputError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")


def select(policy: str, key: jax.Array, inputs: jax.Array, query: jax.Array, k: int) -> jax.Array:
    """Indices of the k examples a window of k examples holds under `policy` (k <= N).

    Args:
        policy: one of POLICIES (random, retrieval, recent).
        key: the JAX PRNG key of the random policy (unused by the others).
        inputs: contexts [N] (int, tokens) or inputs [N, d] (classification).
        query: the query's context (an int scalar) or input [d].
        k: examples kept, a Python int in [0, N] (static under jit).

    Returns:
        Dataset indices, int [k]: the first k of `order(policy, key, inputs, query)`.

    Raises:
        InputError: k outside [0, N], or an unknown policy.
    """
    if not 0 <= k <= inputs.shape[0]:
        raise InputError(f"k must be an integer in [0, {inputs.shape[0]}] (the dataset size); got {k}")
    return order(policy, key, inputs, query)[:k]
