"""Long context on a CPU: small bidirectional encoders trained on short prompts, evaluated out to 2048 tokens.

The question (the paper's finite-context claims, and users of 2048-token encoders such as nomic-bert-2048): does an
encoder trained on prompts of T examples keep learning in context as its window grows far past T? One run per task
and position scheme, trained on prompts of T examples (64, 129 tokens, for tokens; 16, 33 tokens, for
regression-pairs, whose position binding an encoder learns far more slowly) and evaluated at N up to 1023 examples
(2047 tokens), on two tasks:

- ``tokens``: next-token laws (m = 2 contexts, V = 4), each example one token holding its context and its output:
  the order of the examples carries nothing, so an encoder without positions loses nothing.
- ``regression-pairs``: linear regression in d = 2 (noise variance 0.25) with each label in a token of its own
  after its input (`pairs`): a label must be bound to its input by position, so position schemes differ. (Not
  halfspaces: their 0-1 risk, 1/(2(N + 1)) for the Bayes rule at d = 2, is 5e-4 at N = 1023, below what a few
  hundred single-query tasks resolve, each query costing an encoder pass over the whole prompt.)

Position schemes: ``rope`` (rotary, Su et al. 2021) and ``none`` (no position information) extend to any length.
``learned`` cannot: a table trained on 2T + 1 positions has no trained row beyond them (the rows past it keep their
random initialisation, so a longer prompt feeds the model vectors it never saw), and is not run here.

An encoder sees its query, so each N costs one pass over the first 2N + 1 tokens per task; evaluation runs at a
grid of N (two per octave, and every multiple 2^k T), on `tasks` fresh tasks, scoring the prediction at q_N against
the truth (tokens: TV to the query context's law; regression: squared error to the noiseless value) beside the
family's reference on the same prompts (the Dirichlet posterior mean; ridge, the Bayes posterior mean). Rows: the
in-context gain kept at 2T, 4T, ... up to the longest prompt ((e_0 - e_N) / (e_0 - e_T), expected >= 1: still
improving), and ICL over the reference at the longest prompt.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from simulations import problem, rates, records
from simulations.config import EvalConfig, ModelConfig, RunConfig, TrainConfig
from simulations.files import write_json
from simulations.keys import long_context_key
from simulations.tasks.regression import LinearRegression
from simulations.tasks.tokens import NextToken
from simulations.train import train
from theory.errors import InputError

SCHEMES = ("rope", "none")  # position schemes that extend past the trained length
REFERENCE = {"tokens": "posterior_mean", "regression": "ridge"}  # the family's reference, a baseline name


ENCODER = ModelConfig(depth=3, width=64, heads=4, attention="bidirectional")
TRAIN = TrainConfig(steps=1800, batch=64, lr=2e-3, seeds=1, checkpoint_every=300)
PAIRS_TRAIN = TrainConfig(steps=6000, batch=64, lr=2e-3, seeds=1, checkpoint_every=500)


@dataclasses.dataclass(frozen=True)
class LongContext:
    """The experiment: one run per task and position scheme, and how it is evaluated.

    Attributes:
        trained: examples per training prompt T of the tokens task (prompts of 2T + 1 tokens).
        pairs_trained: T of the regression-pairs task, shorter: binding labels to inputs by position is learned
            far more slowly by an encoder (trained at one prefix per prompt), and short prompts buy more steps.
        n_max: the most examples evaluated (prompts of 2 n_max + 1 tokens).
        model: the encoder (its `positions` is set per run; attention must be bidirectional).
        train: training of the tokens runs.
        pairs_train: training of the regression-pairs runs.
        tasks: fresh tasks evaluated per N.
        chunk: tasks per evaluation call (memory: a call holds chunk x heads x (2N + 1)^2 attention scores).
        schemes: position schemes run.
        per_octave: N evaluated per octave (`grid`).
    """

    trained: int = 64
    pairs_trained: int = 16
    n_max: int = 1023
    model: ModelConfig = ENCODER
    train: TrainConfig = TRAIN
    pairs_train: TrainConfig = PAIRS_TRAIN
    tasks: int = 96
    chunk: int = 8
    schemes: tuple[str, ...] = SCHEMES
    per_octave: int = 2

    def families(self) -> dict[str, tuple]:
        """The two tasks, each with its training: order-invariant tokens, and regression with labels bound to
        inputs by position."""
        n = self.n_max
        tokens = NextToken(n_max=n, families=((2, 4),), train_n_max=self.trained)
        pairs = LinearRegression(n_max=n, dims=(2,), noise_var=0.25, train_n_max=self.pairs_trained, pairs=True)
        return {"tokens": (tokens, self.train), "regression-pairs": (pairs, self.pairs_train)}

    def runs(self, seed: int = 0) -> dict[str, RunConfig]:
        """{'tokens/rope': config, ...}."""
        ev = EvalConfig(tasks=self.tasks, finetune_tasks=0, risk_tasks=2, chunk=self.chunk)  # risk: unused here
        return {
            records.key(name, pos): RunConfig(task, dataclasses.replace(self.model, positions=pos), train, ev, seed)
            for name, (task, train) in self.families().items()
            for pos in self.schemes
        }


PRESETS = {
    "cpu": LongContext(),  # about 25 minutes on 2 cores (docs/performance.md)
    # for tests: the same code path in seconds
    "tiny": LongContext(
        trained=4,
        pairs_trained=4,
        n_max=16,
        train=TrainConfig(steps=10, batch=8, seeds=2, checkpoint_every=5),
        pairs_train=TrainConfig(steps=10, batch=8, seeds=2, checkpoint_every=5),
        tasks=8,
        chunk=8,
        per_octave=1,
    ),
}


def grid(trained: int, n_max: int, per_octave: int = 2) -> list[int]:
    """N evaluated: 0, `per_octave` points per octave, and every 2^k trained, up to n_max."""
    ns = {0, n_max} | {round(2 ** (k / per_octave)) for k in range(int(per_octave * math.log2(n_max)) + 1)}
    ns |= {trained * 2**k for k in range(int(math.log2(n_max / trained)) + 1)}
    return sorted(n for n in ns if n <= n_max)


def buckets(ns: list[int], trained: int, n_max: int) -> dict[int, list[int]]:
    """The N evaluated grouped by the prompt length each is run at: the shortest of 2 trained 2^k + 1 (capped at
    2 n_max + 1) that holds its 2N + 1 tokens. One compiled program per length: a few compilations instead of one per
    N, at most twice the tokens each N needs."""
    out: dict[int, list[int]] = {}
    for n in ns:
        length = 2 * trained + 1
        while length < 2 * n + 1:
            length = 2 * (length - 1) + 1
        out.setdefault(min(length, 2 * n_max + 1), []).append(n)
    return out


def _prefix_program(cfg: RunConfig, length: int) -> Callable:
    """Predictions at q_N for the N of one bucket, every seed's model and a chunk of tasks: one masked pass over
    the first `length` tokens per N (the mask hides the tokens after q_N, exactly as in training)."""

    def one(model, features, active, ns):
        def at(n):
            mask = problem.bidirectional_mask(cfg, length, n)
            return model(features[:length], mask, read=2 * n[None])[0]

        return cfg.task.readout(jax.lax.map(at, ns), active)  # [len(ns), ...]

    @eqx.filter_jit
    def run(models, features, active, ns):
        return eqx.filter_vmap(lambda m: jax.vmap(lambda f, a: one(m, f, a, ns))(features, active))(models)

    return run


def evaluate(cfg: RunConfig, models: eqx.Module, ns: list[int]) -> dict[str, np.ndarray]:
    """Errors of ICL [S, E, len(ns)] and of the family's reference [E, len(ns)] at q_N for N in ns, on
    E = cfg.eval.tasks fresh tasks of n_max examples (the evaluation branch of the run's keys), cfg.eval.chunk at
    a time."""
    task, count, chunk = cfg.task, cfg.eval.tasks, cfg.eval.chunk
    k_eval = long_context_key(cfg)  # a branch no other evaluation of the run takes
    tasks = jax.vmap(lambda k: task.sample(k, jnp.asarray(0)))(jax.random.split(k_eval, count))
    truth = np.asarray(task.truth(tasks))  # [E, n+1, ...]
    reference = REFERENCE[task.kind]
    ref_pred = np.asarray(task.baselines(tasks, jax.random.split(k_eval, count), cfg.eval)[reference])
    icl = {}
    for length, group in buckets(ns, task.train_n_max, task.n_max).items():
        run, at = _prefix_program(cfg, length), jnp.asarray(group)
        parts = [
            np.asarray(run(models, tasks["features"][i : i + chunk], tasks["active"][i : i + chunk], at))
            for i in range(0, count, chunk)
        ]
        pred = task.prediction(np.concatenate(parts, axis=1))  # [S, E, len(group), ...]
        icl |= {n: np.asarray(task.error(pred[:, :, j], truth[None, :, n])) for j, n in enumerate(group)}
    ref = [np.asarray(task.error(ref_pred[:, n], truth[:, n])) for n in ns]  # baselines are predictions already
    return {"icl": np.stack([icl[n] for n in ns], axis=-1), "reference": np.stack(ref, axis=-1)}


def _summary(errors: dict[str, np.ndarray], ns: list[int], trained: int, seed: int) -> dict:
    """Means and 95% two-stage bootstrap intervals per N, the gain kept past T and ICL / reference at n_max."""
    icl, ref = errors["icl"], errors["reference"]
    out = {"n": ns}
    for name, u in (("icl", icl), ("reference", ref)):
        low, high = rates.mean_interval(u, seed=seed)
        out[name] = {"mean": rates.as_units(u).mean((0, 1)).tolist(), "ci_low": low.tolist(), "ci_high": high.tolist()}
    at = {n: i for i, n in enumerate(ns)}
    beyond = [b for b in ns if b > trained and (b % trained == 0 or b == ns[-1])]
    out["gain_kept"] = {}
    for b in beyond:
        est = rates.gain_kept(icl, at[trained], at[b], seed=seed + b)  # its detail holds grid indices: N instead
        out["gain_kept"][str(b)] = rates.Estimate(est.value, est.ci, {"trained": trained, "beyond": b}).to_dict()
    last = len(ns) - 1
    ratio = rates.bootstrap_means(
        lambda a, r: a[..., last] / r[..., last], [icl, ref[None]], seed=seed, resamples=rates.RESAMPLES, paired=True
    )
    out["ratio_at_n_max"] = ratio.to_dict()
    return out


def run(
    out: Path | str,
    preset: str = "cpu",
    *,
    seed: int = 0,
    schemes: tuple[str, ...] | None = None,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> dict:
    """Train (or resume) and evaluate every run of the experiment `preset` ('cpu' or 'tiny') in `out`, with the
    position `schemes` (default the preset's); return {run name: summary}.

    Each run trains in out/<task>-<scheme> (checkpoint.eqx: a killed run resumes) and writes its summary there
    (longcontext.json, reused when present); out/long_context.json holds all of them.
    """
    out = Path(out)
    experiment = PRESETS[preset]
    if schemes is not None:
        experiment = dataclasses.replace(experiment, schemes=tuple(schemes))
    results = {}
    for name, cfg in experiment.runs(seed).items():
        where = out / name.replace("/", "-")
        where.mkdir(parents=True, exist_ok=True)
        done, config = where / "longcontext.json", where / "config.json"
        if config.exists() and json.loads(config.read_text()) != json.loads(json.dumps(cfg.to_dict())):
            raise InputError(f"{where} holds another run (its config.json differs): choose another --out")
        write_json(config, cfg.to_dict())  # before training: a resumed run's checkpoint is this config's
        if done.exists():
            results[name] = json.loads(done.read_text())
            say(f"{name}: reused {done}")
            continue
        t0 = time.perf_counter()
        state = train(cfg, where / "checkpoint.eqx", progress=progress)
        t1 = time.perf_counter()
        trained = cfg.task.train_n_max
        ns = grid(trained, experiment.n_max, experiment.per_octave)
        errors = evaluate(cfg, state.models, ns)
        seconds = {"train_s": t1 - t0, "evaluate_s": time.perf_counter() - t1}  # train_s: this call only
        summary = _summary(errors, ns, trained, seed)
        about = {"config": cfg.to_dict(), "trained": trained, "metric": cfg.task.metric}
        summary = about | {"reference_name": REFERENCE[cfg.task.kind], "seconds": seconds} | summary
        write_json(done, summary)
        results[name] = summary
        say(
            f"{name}: trained {cfg.train.steps} steps in {seconds['train_s']:.0f} s, evaluated at {len(ns)} N up to "
            f"{ns[-1]} in {seconds['evaluate_s']:.0f} s"
        )
    write_json(out / "long_context.json", results)
    return results
