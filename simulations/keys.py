"""The random-key tree of a run: every key derives from the run seed through a named branch, so that no two uses
share randomness and a run's numbers depend only on its config and seed.

    PRNGKey(seed), split in 3
    |-- init   split per seed                  model initialisation
    |-- train  split per seed, fold_in(step)   the batch of one training step (a killed run replays its batches)
    |   `-- fold_in(POOL)                      the finite pretraining pool's latent keys (shared by every seed)
    `-- eval
        |-- fold_in(curve index)               a curve's evaluation tasks, and its branches (Curve):
        |   |-- fold_in(1) BASELINES           one key per task for randomized baselines
        |   |-- fold_in(2) RISK_QUERIES        the per-task risk's fresh queries
        |   |-- fold_in(3) VALIDATION          fine-tuning validation tasks
        |   |-- fold_in(4) VALIDATION_QUERIES  their queries
        |   `-- fold_in(5) REFERENCES          the reference learners' keys
        |-- fold_in(1000 + Bounded)            bounded-context experiments (window tasks, policies, fixed context)
        `-- fold_in(LONG_CONTEXT)              the long-context evaluation

Curve indices stay below 1000 (a run has a handful of curves), so the eval branches never meet. Keys are JAX's
threefry keys (jax.random.PRNGKey); fold_in and split are its documented ways to derive independent streams.
"""

from __future__ import annotations

import enum

import jax

from simulations.config import RunConfig

POOL = 2**31 - 1  # fold_in data of the pool's branch of the training key: no step number reaches it
BOUNDED = 1000  # offset of the bounded-context branches of the evaluation key, above every curve index
LONG_CONTEXT = 2000  # the long-context evaluation's branch of the evaluation key


class Curve(enum.IntEnum):
    """Branches of one curve's evaluation key (fold_in data)."""

    BASELINES = 1
    RISK_QUERIES = 2
    VALIDATION = 3
    VALIDATION_QUERIES = 4
    REFERENCES = 5


class Bounded(enum.IntEnum):
    """Branches of the bounded-context experiments (fold_in data, offset by BOUNDED); a window policy j takes
    WINDOW_POLICY + j."""

    WINDOW_TASKS = 0
    WINDOW_POLICY = 1
    FIXED_TASKS = 10
    FIXED_INPUTS = 11


def root_keys(cfg: RunConfig) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The (init, train, evaluation) branches of the run seed."""
    k_init, k_train, k_eval = jax.random.split(jax.random.PRNGKey(cfg.seed), 3)
    return k_init, k_train, k_eval


def seed_keys(cfg: RunConfig) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-seed init and train keys [seeds, 2] each, and the evaluation key."""
    k_init, k_train, k_eval = root_keys(cfg)
    seeds = cfg.train.seeds
    return jax.random.split(k_init, seeds), jax.random.split(k_train, seeds), k_eval


def pool_keys(cfg: RunConfig) -> jax.Array:
    """The latent keys of the finite pretraining pool [pool]: evaluation never uses them, so held-out tasks stay
    fresh."""
    return jax.random.split(jax.random.fold_in(root_keys(cfg)[1], POOL), cfg.task.pool)


def eval_key(cfg: RunConfig, index: int, branch: Curve | None = None) -> jax.Array:
    """The evaluation key of one curve (its tasks), or of one of its branches."""
    key = jax.random.fold_in(root_keys(cfg)[2], index)
    return key if branch is None else jax.random.fold_in(key, int(branch))


def bounded_key(cfg: RunConfig, branch: int) -> jax.Array:
    """A bounded-context branch of the evaluation key (Bounded, or WINDOW_POLICY + j)."""
    return jax.random.fold_in(root_keys(cfg)[2], BOUNDED + int(branch))


def long_context_key(cfg: RunConfig) -> jax.Array:
    """The long-context evaluation's key."""
    return jax.random.fold_in(root_keys(cfg)[2], LONG_CONTEXT)
