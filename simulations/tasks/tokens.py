"""Next-token laws: m contexts over V tokens, p(.|c) ~ Dirichlet(alpha 1_V) independently per context.

A prompt is n pairs (c_i, t_i) with c_i uniform over the m contexts and t_i ~ p(.|c_i); the pair after them is
the query. Contexts and tokens live in [0, m_max) and [0, V_max) so that one model serves every m <= m_max and
V <= V_max; inactive tokens have probability 0. Error: TV(predicted law, p(.|c_query)). Baselines: empirical
frequencies, add-one and the Dirichlet posterior mean, over the V active tokens for the query context c_N:

  mle            empirical frequencies of the tokens that followed c_N (uniform when there are none)
  add_one        (counts + 1) / (n_c + V)
  posterior_mean Dirichlet posterior mean (counts + alpha) / (n_c + V alpha): Bayes-optimal under the task prior
                 for log loss (KL to the true law) and squared loss, not for TV (a baseline for TV, not a floor)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from simulations import prompts
from simulations.tasks.base import RatioCheck, Task, documented, require_real
from theory.errors import InputError

# ---- learners on the same prompts ------------------------------------------------------------------------------------


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


def kl(p, q):
    """KL(p || q) = sum_v p_v log(p_v / q_v) on the last axis (terms with p_v = 0 are 0; q floored at 1e-30)."""
    p, q = jnp.asarray(p), jnp.asarray(q)
    ratio = jnp.log(jnp.maximum(p, 1e-30)) - jnp.log(jnp.maximum(q, 1e-30))
    return jnp.where(p > 0, p * ratio, 0.0).sum(-1)


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
    # the posterior mean: a baseline in TV (the claim's metric), the Bayes floor in KL (the training loss's)
    references: ClassVar[tuple[str, ...]] = ("posterior_mean",)
    # Dirichlet posterior variance summed over tokens <= 1/(n_c + V + 1), Cauchy-Schwarz and Jensen over the
    # binomial count n_c of the query's context (E 1/(n_c + 1) <= m/(N + 1)): E TV <= (1/2) sqrt(m V / (N + 1));
    # the minimax rate sqrt(V / n) (Han, Jiao & Weissman 2015; Kamath, Orlitsky, Pichapati & Suresh 2015).
    proven: ClassVar[dict[str, str]] = {
        "posterior_mean": "E TV <= (1/2) sqrt(m V / (N + 1)) (Dirichlet posterior variance, Jensen); minimax "
        "sqrt(V/N): Han, Jiao & Weissman 2015, Kamath et al. 2015"
    }
    secondary_metrics: ClassVar[dict[str, str]] = {"kl": "KL(true law || prediction)"}

    families: tuple[tuple[int, int], ...] = documented(
        ((2, 4), (4, 4)),
        "(m, V) pairs, one curve each: m contexts, vocabulary V (padded to the largest)",
        flag="--families",
    )
    alpha: float = documented(1.0, "Dirichlet concentration of each context's next-token law", flag="--alpha")

    def __post_init__(self) -> None:
        super().__post_init__()
        pairs = [f for f in self.families if isinstance(f, (tuple, list)) and len(f) == 2]
        ok = len(pairs) == len(self.families) > 0 and all(
            isinstance(x, int) and not isinstance(x, bool) for f in pairs for x in f
        )
        if not ok or any(m < 1 or v < 2 for m, v in pairs):
            what = "a non-empty list of (m >= 1, V >= 2) integer pairs"
            raise InputError(f"families must be {what}; got {self.families!r}")
        # below 0.1, float32 Gamma(alpha) draws underflow to 0 often enough to make a whole law 0/0
        require_real("alpha", self.alpha, 0.1)

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

    def size_axes(self, params: dict) -> dict[str, float]:
        """m and V as separate axes: the optimal learner's constant depends on V (about g(V) sqrt(m V / N)), so
        (2, 4) and (4, 2) share m V but not the risk."""
        return {"m": params["m"], "V": params["V"]}

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

    def secondary(self, pred, truth):
        """KL(true law || prediction): the metric the posterior mean is optimal for and the model is trained in
        (cross-entropy minus the true law's entropy), so ICL has a true Bayes floor to approach."""
        return {"kl": kl(truth, pred)}

    def figures(self, metrics, directory, prefix):
        from simulations import plots  # matplotlib only when a figure is drawn

        name = f"{prefix}kl.png"
        plots.other_metric(metrics, "kl", self.secondary_metrics["kl"], directory / name)
        caption = "KL to the true law: the posterior mean is the Bayes floor in this metric (in TV it is a baseline)"
        return [(caption, name)]

    def checks(self):
        return (
            RatioCheck(
                "KL of ICL over the posterior mean's (the Bayes floor in KL)",
                "icl_kl",
                "posterior_mean_kl",
                at=lambda params: self.n_max,
                threshold=1.5,
            ),
        )

    def baselines(self, tasks, keys, ev, pool=None):
        m_max, v_max = self.m_max, self.V_max
        counts = jax.vmap(lambda c, t: context_counts(c, t, m_max, v_max))(tasks["c"], tasks["t"])
        return jax.vmap(lambda k, v: token_estimates(k, v, self.alpha))(counts, tasks["active"])

    def risk_queries(self, tasks, key, ev):
        """Every context as a query: the risk is TV at each active context, averaged and maximized."""
        e = tasks["c"].shape[0]
        queries = prompts.tokens_queries(jnp.arange(self.m_max), self.m_max, self.V_max)
        return jnp.broadcast_to(queries, (e, *queries.shape)), tasks["probs"]

    def reference_predictions(self, tasks, queries, keys, ev):
        """The posterior mean of every context after every prefix (the Bayes floor in KL): [E, n+1, m_max, V_max]."""
        m_max, v_max = self.m_max, self.V_max

        def laws(c, t, v):
            joint = jax.nn.one_hot(c, m_max)[:, :, None] * jax.nn.one_hot(t, v_max)[:, None, :]
            counts = jnp.cumsum(joint, axis=0) - joint
            return token_estimates(counts, v, self.alpha)["posterior_mean"]

        return {"posterior_mean": jax.vmap(laws)(tasks["c"], tasks["t"], tasks["active"])}

    def risk_summary(self, errors, params):
        dist = errors[..., : params["m"]]  # active contexts only
        return {"icl_risk": dist.mean(-1), "icl_risk_max": dist.max(-1)}
