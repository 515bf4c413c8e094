"""What halfspaces and linear regression share: inputs x ~ N(0, I_d) for each d in `dims`, zero-padded to
max(dims) so that one model serves every d (the zero-padding device of Garg et al. 2022), a scalar output, and
the per-task risk measured on fresh inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from simulations import prompts
from simulations.tasks.base import Task, documented
from theory.errors import InputError


def prefix_masks(n_plus_1: int) -> jax.Array:
    """[N, i] = 1 if example i is among the first N (i < N), for N = 0..n: every prefix of a prompt at once (the
    learners of both families use it instead of a Python loop over N)."""
    idx = jnp.arange(n_plus_1)
    return (idx[None, :] < idx[:, None]).astype(jnp.float32)


@dataclass(frozen=True)
class GaussianInputs(Task):
    """A family over R^d for each d in `dims`; subclasses add the labels (sample, loss, error)."""

    size_name: ClassVar[str] = "d"

    dims: tuple[int, ...] = documented(
        (2, 4), "input dimensions d, one curve each (inputs zero-padded to the largest)", flag="--dims"
    )
    pairs: bool = documented(
        False, "prompt layout: each label in a token of its own after its input, bound to it by position only"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        ints = all(isinstance(d, int) and not isinstance(d, bool) for d in self.dims)
        if not self.dims or not ints or min(self.dims) < 1:
            raise InputError(f"dims must be a non-empty list of integers >= 1; got {self.dims}")
        if not isinstance(self.pairs, bool):
            raise InputError(f"pairs must be true or false; got {self.pairs!r}")

    @property
    def curves(self) -> list[dict]:
        return [{"d": d} for d in self.dims]

    @property
    def feature_dim(self) -> int:
        return max(self.dims) + 3  # [x, y, is_query, is_demo]

    @property
    def out_dim(self) -> int:
        return 1

    def size(self, params: dict) -> float:
        return params["d"]

    def asymptotic_start(self, params: dict) -> int:
        return 2 * int(params["d"])

    def readout(self, out, active):
        return out[..., 0]

    def prompt(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """The prompt of inputs x [n+1, d_max] and labels y [n+1] in this family's layout (simulations.prompts)."""
        return prompts.vectors(x, y, self.pairs)

    def fresh_inputs(self, tasks: dict, key: jax.Array, count: int) -> tuple[jax.Array, jax.Array]:
        """`count` fresh inputs per task in its active coordinates: (query tokens [E, K, F], inputs [E, K, d_max])."""
        active = (jnp.arange(tasks["x"].shape[-1]) < tasks["active"][:, None, None]).astype(jnp.float32)
        xq = jax.random.normal(key, (tasks["x"].shape[0], count, tasks["x"].shape[-1])) * active
        return jax.vmap(prompts.vector_queries)(xq), xq
