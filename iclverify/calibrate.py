"""`iclverify calibrate`: how often the rate verdicts come out right, on learners whose behaviour is known.

The rate checks of `iclverify.verdicts` compare a learner with a reference learner of proved rate on the same
tasks (`simulations.rates.relative_exponent`, `relative_scaling`). Here they are fed error arrays whose mean curves
are known, at the sizes of a preset's runs (its dimensions or (m, V) families, n_max, seeds, per-task-risk tasks
and queries), and the verdicts are counted over repetitions:

- null learners, whose rate is the claim's (rate-optimal; their finite-N curves are *not* power laws), must be
  called inconsistent at most FALSE_ALARM of the time, and consistent at least CONSISTENT of the time at the full
  presets' sizes: the reference itself (seed noise only), Gibbs (halfspaces), the reference on half the data,
  a (s/(N + b))^|claimed| with b in {0, s, 2s} (s = d, or m V; a the smallest constant that keeps it above the
  Bayes-optimal reference at every N, as any real learner is), and for tokens the add-1/2 and add-2 estimators;
- alternatives must be called inconsistent at least POWER of the time: the reference slowed by N^(|claimed|/2),
  a learner that stops improving at n_max / 2, and (for the size check) one whose N* grows with one more power of
  the size.

The reference curves: for halfspaces (1/2) A / (N + A) with A = 2 c(d) d, c(d) = 0.442 d / (d + 1.5) -- exact at
d = 2, where the Bayes risk is 1/(2(N + 1)), and tending to the Bayes-optimal teacher-student constant 0.442 d/N of
the statistical mechanics of learning (Opper & Haussler, Phys. Rev. Lett. 66:2677, 1991); for tokens and
regression the exact mean risk of the reference, by Monte Carlo over REFERENCE_DRAWS tasks (the Dirichlet posterior
mean's TV; the Bayes floor tr Sigma_N). With `--run DIR` the run's own reference per-task risks are used instead
(tasks resampled each repetition), and the run's ICL curve slowed by N^(|claimed|/2) is added as an alternative.

Noise of the size real runs have: a unit's risk is its mean curve times a task difficulty g_t ~ Gamma(CV TASK_CV)
shared by learner and reference (they see the same prompts), a learner-only task factor Gamma(CV
LEARNER_CV[family]), and a per-seed level and slope exp(SEED_SD z_1 + SEED_SLOPE_SD z_2 log(N / n_min)); the
recorded per-task risk is a mean over the run's queries, drawn independently for learner and reference (binomial
for a metric in [0, 1], a mean of squared Gaussians for squared error) -- independence of the query noise makes the
paired intervals wider than real ones, so the power measured here is conservative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iclverify import verdicts as V
from simulations import rates
from simulations.config import RunConfig
from simulations.presets import PRESETS
from simulations.records import curve_key
from theory.errors import InputError

TASK_CV = 0.6
# learner-only task factor per family, from the quick report's runs: ICL's per-task log risk correlates with the
# reference's at about 0.99 (tokens: both near the posterior mean), 0.5 (halfspaces) and 0.2 (regression, where
# ICL's per-task risk varies 3x more than the Bayes floor's); a family without a measurement gets the noisiest
LEARNER_CV = {"tokens": 0.3, "classification": 1.0, "regression": 1.5}
SEED_SD = 0.05
SEED_SLOPE_SD = 0.03
POWER = 0.8  # required probability of "inconsistent" for an alternative
FALSE_ALARM = 0.05  # largest allowed probability of "inconsistent" for a null learner
CONSISTENT = 0.8  # required probability of "consistent" for a null learner at the decisive presets' sizes
DECISIVE = ("standard", "full")  # presets whose rows must also decide (CONSISTENT), not only avoid false alarms
REFERENCE_DRAWS = 4000  # Monte-Carlo tasks behind each exact reference mean curve

Curves = Callable[[dict, np.ndarray], np.ndarray]  # (curve params, N grid) -> mean risk [len(N)]


@dataclass(frozen=True)
class Learner:
    """A learner fed to the checks: its mean curve per size, and whether the claim holds for it ('null') or it is
    an alternative the checks must reject ('alternative'), in N ('exponent') and in the size ('size')."""

    name: str
    curve: Curves
    exponent: str  # "null" or "alternative"
    size: str  # "null", "alternative" or "n/a" (not fed to the size check)


# ---- reference mean curves ------------------------------------------------------------------------------------
def halfspace_bayes(d: float, n: np.ndarray) -> np.ndarray:
    """(1/2) A / (N + A), A = 2 c(d) d, c(d) = 0.442 d / (d + 1.5): 1/2 with no example, 1/(2(N + 1)) at d = 2
    (exact), about c(d) d / N for N >> d, tending to 0.442 d/N for large d."""
    a = 2 * 0.442 * d / (d + 1.5) * d
    return 0.5 * a / (n + a)


def token_estimators(m: int, V_: int, n_max: int, alphas=(1.0, 0.5, 2.0), seed: int = 0) -> dict[float, np.ndarray]:
    """Mean TV (over contexts and tasks) of the add-alpha estimators (counts + alpha) / (n_c + alpha V) after N
    examples, N = 0..n_max, laws Dirichlet(1_V) per context, contexts uniform: {alpha: [n_max + 1]} (alpha = 1 is
    the posterior mean, the reference)."""
    rng = np.random.default_rng(seed)
    R = REFERENCE_DRAWS // 4
    probs = rng.dirichlet(np.ones(V_), size=(R, m))  # [R, m, V]
    c = rng.integers(0, m, size=(R, n_max))
    u = rng.random((R, n_max, 1))
    t = (u > np.cumsum(probs[np.arange(R)[:, None], c], -1)).sum(-1)  # inverse-CDF draws [R, n_max]
    joint = np.zeros((R, n_max + 1, m, V_))
    np.add.at(joint, (np.arange(R)[:, None], np.arange(1, n_max + 1)[None], c, np.minimum(t, V_ - 1)), 1.0)
    counts = np.cumsum(joint, axis=1)  # [R, N, m, V]: examples before the query
    total = counts.sum(-1, keepdims=True)
    out = {}
    for a in alphas:
        est = (counts + a) / (total + a * V_)
        out[a] = (0.5 * np.abs(est - probs[:, None]).sum(-1)).mean((0, 2))
    return out


def regression_floor(d: int, n_max: int, noise_var: float, seed: int = 0) -> np.ndarray:
    """Mean Bayes floor E tr Sigma_N = E sum_i 1 / (1 + lambda_i(X_N^T X_N) / sigma^2), N = 0..n_max."""
    rng = np.random.default_rng(seed)
    R = REFERENCE_DRAWS // 4
    x = rng.standard_normal((R, n_max, d))
    gram = np.cumsum(x[:, :, :, None] * x[:, :, None, :], axis=1)  # [R, n_max, d, d]
    lam = np.linalg.eigvalsh(gram)
    floor = (1.0 / (1.0 + lam / noise_var)).sum(-1).mean(0)
    return np.concatenate([[float(d)], floor])


def reference_curves(cfg: RunConfig) -> dict[str, dict[str, np.ndarray]]:
    """Exact (or closed-form) mean curves of the reference and the family's other null estimators, per curve:
    {curve key: {'reference': [N], 'add-1/2': ..., ...}}, on N = 0..n_max."""
    task, ns = cfg.task, np.arange(cfg.task.n_max + 1, dtype=np.float64)
    out = {}
    for p in task.curves:
        key = curve_key(p)
        if task.kind == "tokens":
            est = token_estimators(p["m"], p["V"], task.n_max)
            out[key] = {"reference": est[1.0], "add-1/2": est[0.5], "add-2": est[2.0]}
        elif task.kind == "regression":
            out[key] = {"reference": regression_floor(p["d"], task.n_max, task.noise_var)}
        else:  # halfspaces, and a user's family: the halfspace form in its size, raised to the claimed exponent
            out[key] = {"reference": halfspace_bayes(task.size(p), ns) ** (-task.exponent)}
    return out


def learners(cfg: RunConfig, refs: dict[str, dict[str, np.ndarray]]) -> list[Learner]:
    """The null learners and the alternatives for a run's family (module docstring)."""
    task = cfg.task
    a = -task.exponent
    ns = np.arange(task.n_max + 1, dtype=np.float64)
    n0 = rates.top_start(task.n_max)
    sizes = {curve_key(p): task.size(p) for p in task.curves}
    s_min = min(sizes.values())

    def ref(p: dict, n: np.ndarray = ns) -> np.ndarray:
        """The reference's mean curve at (fractional) N, interpolated in log-log."""
        curve = refs[curve_key(p)]["reference"]
        return np.exp(np.interp(np.log(np.maximum(n, 1.0)), np.log(ns[1:]), np.log(curve[1:])))

    out = [
        Learner("reference (seed noise)", lambda p, n: ref(p), "null", "null"),
        Learner("reference on half the data", lambda p, n: ref(p, n / 2), "null", "null"),
    ]
    if task.kind == "classification":
        # Gibbs / Bayes: 4/3 at d = 2 (exact), 0.625 / 0.442 for large d
        out.append(Learner("Gibbs", lambda p, n: ref(p) * (1.414 - 0.081 * 2 / p["d"]), "null", "null"))
    for k in (0, 1, 2):
        # scaled to touch the reference from above on N = 1..n_max: a realizable learner is never better than the
        # Bayes-optimal reference
        def offset(p, n, k=k):
            s = sizes[curve_key(p)]
            shape = (s / np.maximum(n + k * s, 1.0)) ** a
            return shape * np.max(ref(p)[1:] / shape[1:])

        # not a null for the size check: keeping a/(N + k s) above the reference takes a constant a growing with s
        out.append(Learner(f"(s/(N + {k}s))^{a:g}" if k else f"(s/N)^{a:g}", offset, "null", "n/a"))
    for name in ("add-1/2", "add-2"):
        if name in next(iter(refs.values())):
            out.append(Learner(name, lambda p, n, name=name: refs[curve_key(p)][name], "null", "null"))
    out += [
        Learner(
            f"reference slowed by N^{a / 2:g}",
            lambda p, n: ref(p) * (np.maximum(n, 1.0) / n0) ** (a / 2),
            "alternative",
            "null",
        ),
        Learner(
            "stops improving at n_max/2",
            lambda p, n: ref(p, np.minimum(n, task.n_max // 2)),
            "alternative",
            "null",
        ),
        Learner(
            "N* x size (one more power)",
            lambda p, n: ref(p, n * s_min / sizes[curve_key(p)]),
            "null",
            "alternative",
        ),
    ]
    return out


# ---- noise ----------------------------------------------------------------------------------------------------
def sample(
    learner: np.ndarray,
    reference: np.ndarray,
    ns: np.ndarray,
    n_min: int,
    shape: tuple[int, int, int],
    bounded: bool,
    rng: np.random.Generator,
    kind: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """One curve's learner errors [seeds, tasks, N] and reference errors [tasks, N] around the mean curves (noise:
    module docstring). `reference` is a mean curve [N], or the run's own per-task risks [tasks, N]."""
    seeds, tasks, queries = shape
    n = np.maximum(ns, 1).astype(np.float64)
    if reference.ndim == 2:  # a run's reference units: resample its tasks, scale the learner by their difficulty
        units = reference[rng.integers(0, len(reference), tasks)]
        g = units / np.maximum(units.mean(0), rates.TINY)
        ref = units
    else:
        g = rng.gamma(1 / TASK_CV**2, TASK_CV**2, size=(tasks, 1))
        ref = None
    cv = LEARNER_CV.get(kind, max(LEARNER_CV.values()))
    xi = rng.gamma(1 / cv**2, cv**2, size=(1, tasks, 1))
    z = rng.standard_normal((2, seeds, 1, 1))
    h = np.exp(SEED_SD * z[0] + SEED_SLOPE_SD * z[1] * np.log(n / max(n_min, 1)))
    p = learner * g[None] * xi * h
    if ref is None:
        ref = _measured(reference * g, queries, bounded, rng)
    return _measured(p, queries, bounded, rng), ref


def _measured(p: np.ndarray, queries: int, bounded: bool, rng: np.random.Generator) -> np.ndarray:
    """The mean error over `queries` queries of a unit whose true risk is p."""
    if bounded:
        return rng.binomial(queries, np.clip(p, 0.0, 1.0)) / queries
    return p * rng.gamma(queries / 2, 2 / queries, size=p.shape)


# ---- the cases --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """The sizes of one preset run (or one finished run), as the verdicts see them."""

    preset: str
    kind: str
    cfg: RunConfig
    reference_units: dict[str, np.ndarray] | None = None  # a run's own reference risks per curve key
    icl_means: dict[str, np.ndarray] | None = None  # a run's ICL mean curve per curve key

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.cfg.train.seeds, self.cfg.eval.risk_tasks, self.cfg.eval.risk_queries


def cases(presets: tuple[str, ...] = ("quick", "standard", "full")) -> list[Case]:
    return [Case(p, kind, cfg) for p in presets for kind, cfg in PRESETS[p].items()]


def run_case(path: Path | str) -> Case:
    """A finished run as a calibration case: its own reference per-task risks and ICL curve."""
    from simulations.run import load_run

    run = load_run(path)
    task = run.cfg.task
    ref_name = V.reference(run, task.curves)
    if ref_name is None:
        raise InputError(f"{path}: the run has no reference learner to calibrate against")
    refs, icl = {}, {}
    for p in task.curves:
        learner = V.units(run, p, task.risk)
        refs[curve_key(p)] = V.units(run, p, ref_name)[0, : learner.shape[1]]
        icl[curve_key(p)] = learner.mean((0, 1))
    return Case(f"run {Path(path).name}", task.kind, run.cfg, refs, icl)


def _case_learners(case: Case) -> tuple[list[Learner], dict]:
    task = case.cfg.task
    if case.reference_units is None:
        refs = reference_curves(case.cfg)
        return learners(case.cfg, refs), {k: v["reference"] for k, v in refs.items()}
    means = {k: u.mean(0) for k, u in case.reference_units.items()}
    out = learners(case.cfg, {k: {"reference": m} for k, m in means.items()})
    a, n0 = -task.exponent, rates.top_start(task.n_max)
    ns = np.arange(task.n_max + 1, dtype=np.float64)

    def slowed_icl(p, n):
        return case.icl_means[curve_key(p)] * (np.maximum(ns, 1.0) / n0) ** (a / 2)

    out.append(Learner(f"the run's ICL slowed by N^{a / 2:g}", slowed_icl, "alternative", "null"))
    return out, case.reference_units


def calibrate_case(case: Case, reps: int, seed: int = 0, resamples: int = rates.RESAMPLES) -> list[dict]:
    """Verdict frequencies of the relative exponent and size checks for each learner, over `reps` repetitions."""
    task = case.cfg.task
    ns = np.arange(task.n_max + 1)
    n0 = rates.top_start(task.n_max)
    bounded = bool(np.isfinite(task.error_max))
    all_learners, refs = _case_learners(case)
    tau = V.TOLERANCE
    out = []
    for li, learner in enumerate(all_learners):
        counts = {"exponent": [], "size": []}
        for r in range(reps):
            rng = np.random.default_rng([seed, li, r])
            pairs = []
            for p in task.curves:
                mean = learner.curve(p, ns.astype(np.float64))
                pairs.append((p, *sample(mean, refs[curve_key(p)], ns, n0, case.shape, bounded, rng, task.kind)))
            for j, (p, u, ref) in enumerate(pairs):
                est, floor = V.rate_in_n(u, ref, ns, task.size(p), task.exponent, seed=r * 100 + j, resamples=resamples)
                counts["exponent"].append(V.decide_relative(est, tau, floor=floor)[0])
            sized = [(task.size_axes(p), u, ref, None) for p, u, ref in pairs]
            scaled = (
                {}
                if learner.size == "n/a"
                else rates.relative_scaling(sized, ns, seed=r * 100 + 99, resamples=resamples)
            )
            for est in scaled.values():
                counts["size"].append(V.decide_relative(est, V.SIZE_TOLERANCE)[0])
        for check in ("exponent", "size"):
            verdicts = counts[check]
            if not verdicts:
                continue
            freq = {v: verdicts.count(v) / len(verdicts) for v in V.VERDICTS}
            role = getattr(learner, check)
            full = case.preset in DECISIVE
            if role == "null":
                wanted = f"false alarm <= {FALSE_ALARM:g}" + (f", consistent >= {CONSISTENT:g}" if full else "")
                ok = freq["inconsistent"] <= FALSE_ALARM and (not full or freq["consistent"] >= CONSISTENT)
            else:
                wanted, ok = f"power >= {POWER:g}", freq["inconsistent"] >= POWER
            out.append(
                {
                    "preset": case.preset,
                    "task": case.kind,
                    "sizes": [task.size(p) for p in task.curves],
                    "n_max": task.n_max,
                    "seeds": case.shape[0],
                    "tasks": case.shape[1],
                    "learner": learner.name,
                    "check": check,
                    "role": role,
                    "frequencies": freq,
                    "requirement": wanted,
                    "met": bool(ok),
                    "repetitions": reps,
                }
            )
    return out


def calibrate(
    presets: tuple[str, ...] = ("quick", "standard", "full"),
    reps: int = 100,
    seed: int = 0,
    progress=None,
    runs: tuple[Path | str, ...] = (),
) -> list[dict]:
    """Every case of `presets` and of the finished `runs` (see calibrate_case); progress(case) before each one."""
    rows = []
    for case in cases(presets) + [run_case(p) for p in runs]:
        if progress:
            progress(case)
        rows += calibrate_case(case, reps, seed)
    return rows


def table(rows: list[dict]) -> list[str]:
    """Markdown table of calibration rows."""
    lines = [
        "| preset | task | learner | check | role | P(consistent) | P(inconclusive) | P(inconsistent) "
        "| requirement | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f = r["frequencies"]
        met = "yes" if r["met"] else "**no**"
        lines.append(
            f"| {r['preset']} | {r['task']} | {r['learner']} | {r['check']} | {r['role']} | "
            f"{f['consistent']:.2f} | {f['inconclusive']:.2f} | {f['inconsistent']:.2f} | {r['requirement']} | {met} |"
        )
    return lines
