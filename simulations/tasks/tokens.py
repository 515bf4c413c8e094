"""Next-token laws: m contexts over V tokens, p(.|c) ~ Dirichlet(alpha 1_V) independently per context.

A prompt is n pairs (c_i, t_i) with c_i uniform over the m contexts and t_i ~ p(.|c_i); the pair after them is
the query. Contexts and tokens live in [0, m_max) and [0, V_max) so that one model serves every m <= m_max and
V <= V_max; inactive tokens have probability 0. Error: TV(predicted law, p(.|c_query)). Baselines: empirical
frequencies, add-one and the Dirichlet posterior mean (simulations.baselines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from simulations import baselines, prompts
from simulations.tasks.base import Task


def sample(
    key: jax.Array,
    m: jax.Array,
    V: jax.Array,
    m_max: int,
    V_max: int,
    n: int,
    alpha: float = 1.0,
    latent_key: jax.Array | None = None,
) -> dict[str, jax.Array]:
    """One task and n + 1 pairs. Returns probs [m_max, V_max], c [n+1] int32, t [n+1] int32.

    `m` and `V` may be traced. Dirichlet draws use Gamma(alpha) variables, zeroed outside the active V;
    latent_key, when given, draws the laws.
    """
    kp, kc, kt = jax.random.split(key, 3)
    kp = kp if latent_key is None else latent_key
    active = jnp.arange(V_max) < V
    g = jax.random.gamma(kp, alpha, (m_max, V_max)) * active
    probs = g / g.sum(-1, keepdims=True)
    c = jax.random.randint(kc, (n + 1,), 0, m)
    logits = jnp.where(active, jnp.log(jnp.maximum(probs[c], 1e-30)), -jnp.inf)
    t = jax.random.categorical(kt, logits, axis=-1)
    return {"probs": probs, "c": c.astype(jnp.int32), "t": t.astype(jnp.int32)}


def tv(p, q):
    """Total variation distance between distributions on the last axis."""
    return 0.5 * jnp.abs(p - q).sum(-1)


@dataclass(frozen=True)
class NextToken(Task):
    """m contexts over V tokens for each (m, V) in `families`, laws p(.|c) ~ Dirichlet(alpha 1_V)."""

    kind: ClassVar[str] = "tokens"
    metric: ClassVar[str] = "TV distance"
    risk_text: ClassVar[str] = "TV to the true next-token law, at every context"
    size_name: ClassVar[str] = "m*V"
    claim: ClassVar[str] = "paper.text-generation"
    exponent: ClassVar[float] = -0.5
    bounds: ClassVar[tuple[str, ...]] = (
        "paper.text-generation",
        "text-generation.mcdiarmid-union",
        "text-generation.union",
    )
    tail: ClassVar[str] = "icl_risk_max"  # the paper's metric: the worst context
    references: ClassVar[tuple[str, ...]] = ("bayes",)

    families: tuple[tuple[int, int], ...] = ((2, 4), (4, 4))
    alpha: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.families or any(len(f) != 2 or min(f) < 1 for f in self.families):
            raise ValueError(f"families must be a non-empty list of (m, V) pairs of integers >= 1; got {self.families}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0; got {self.alpha}")

    @property
    def m_max(self) -> int:
        return max(m for m, _ in self.families)

    @property
    def V_max(self) -> int:
        return max(v for _, v in self.families)

    @property
    def curves(self) -> list[dict]:
        return [{"m": m, "V": v} for m, v in self.families]

    @property
    def feature_dim(self) -> int:
        return self.m_max + self.V_max + 2

    @property
    def out_dim(self) -> int:
        return self.V_max

    def size(self, params: dict) -> float:
        return params["m"] * params["V"]

    def asymptotic_start(self, params: dict) -> int:
        return int(params["m"]) * int(params["V"])

    def sample(self, key, family, latent_key=None):
        fam = jnp.asarray(self.families)[family]
        task = sample(key, fam[0], fam[1], self.m_max, self.V_max, self.n_max, self.alpha, latent_key)
        features = prompts.tokens(task["c"], task["t"], self.m_max, self.V_max)
        return task | {"features": features, "target": task["t"], "active": fam[1]}

    def readout(self, out, active):
        """Log-probabilities over the active tokens."""
        mask = jnp.arange(out.shape[-1]) < active
        return jax.nn.log_softmax(jnp.where(mask, out, -1e9), axis=-1)

    def loss(self, output, target):
        """Cross-entropy of log-probabilities against token ids."""
        return -jnp.take_along_axis(output, target[..., None], axis=-1)[..., 0]

    def prediction(self, output):
        return np.exp(output)

    def truth(self, task):
        """p(.|c_N) for each query: [..., n+1, V_max]."""
        return jnp.take_along_axis(task["probs"], task["c"][..., :, None], axis=-2)

    def error(self, pred, truth):
        return tv(pred, truth)

    def baselines(self, tasks, key, ev, pool=None):
        m_max, v_max = self.m_max, self.V_max
        counts = jax.vmap(lambda c, t: baselines.context_counts(c, t, m_max, v_max))(tasks["c"], tasks["t"])
        return jax.vmap(lambda k, v: baselines.token_estimates(k, v, self.alpha))(counts, tasks["active"])

    def risk_queries(self, tasks, key, ev):
        """Every context as a query: the risk is TV at each active context, averaged and maximized."""
        e = tasks["c"].shape[0]
        queries = prompts.tokens_queries(jnp.arange(self.m_max), self.m_max, self.V_max)
        return jnp.broadcast_to(queries, (e, *queries.shape)), tasks["probs"]

    def risk_summary(self, errors, params):
        dist = errors[..., : params["m"]]  # active contexts only
        return {"icl_risk": dist.mean(-1), "icl_risk_max": dist.max(-1)}
