"""Halfspaces: x ~ N(0, I_d), w ~ N(0, I_d), y = sign(<w, x>), labels flipped with probability `label_noise`.

Inputs live in R^{d_max}; coordinates d..d_max-1 are zero, so one model serves every d <= d_max
(the zero-padding curriculum of Garg et al. 2022). Error: 0-1 error against the clean teacher label
sign(<w, x>) (a tie counts 1/2). Baselines: averaging, logistic regression, max-margin and, for noise-free
labels, the Bayes-optimal posterior-predictive classifier (simulations.baselines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from simulations import baselines
from simulations.tasks.base import documented, require_int
from simulations.tasks.gaussian import GaussianInputs
from theory.errors import InputError

BASELINES = {"averaging": baselines.averaging, "logistic": baselines.logistic}  # per task; vmapped over tasks


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

    label_noise: float = documented(0.0, "probability that a label is flipped, in [0, 0.5)")
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
        w_mm = jax.vmap(baselines.max_margin_path)(x, y)  # [E, n+1, d]
        out["max_margin"] = jnp.sign(jnp.einsum("end,end->en", w_mm, x))
        return out

    def reference_predictions(self, tasks, queries, keys, ev):
        """Logistic regression and, for noise-free labels, the Bayes-optimal classifier (exact for d = 2, the
        version space being an arc; hit-and-run otherwise, one set of chains per prefix serving every query)."""
        x, y = tasks["x"], tasks["y"]
        xq = queries[..., : x.shape[-1]]  # a query token holds its input first (prompts.vector_queries)
        preds = {"logistic": jax.vmap(lambda a, b, q: baselines.logistic(a, b, queries=q))(x, y, xq)}
        if self.label_noise == 0:  # the version-space posterior needs noise-free labels
            w_mm = jax.vmap(baselines.max_margin_path)(x, y)  # the sampler's centre, and a point inside the arc
            active = (jnp.arange(x.shape[-1])[None, :] < tasks["active"][:, None]).astype(jnp.float32)
            chains, steps = self.bayes_chains, self.bayes_steps

            def exact(_):
                return jax.vmap(baselines.bayes_2d)(x, y, w_mm, xq)

            def sampled(_):
                vote = jax.vmap(lambda k, a, b, c, w, q: baselines.bayes(k, a, b, c, w, chains, steps, q))
                return vote(keys, x, y, active, w_mm, xq)

            # a curve has one d: the whole chunk takes one branch, and only that branch runs
            preds["bayes"] = jax.lax.cond(jnp.all(tasks["active"] == 2), exact, sampled, None)
        return preds

    def risk_queries(self, tasks, key, ev):
        """`risk_queries` fresh inputs per task; their error estimates the task's true error without bias
        (binomial noise of sd <= 0.5 / sqrt(risk_queries))."""
        queries, xq = self.fresh_inputs(tasks, key, ev.risk_queries)
        return queries, jnp.where(jnp.einsum("ekd,ed->ek", xq, tasks["w"]) >= 0, 1.0, -1.0)
