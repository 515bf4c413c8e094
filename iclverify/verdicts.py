"""Verdicts: measured rates from simulation runs, joined with the catalogue's bounds.

Every verdict is `consistent`, `inconsistent` or `inconclusive`, by rules fixed before any data was looked at
(docs: "How verdicts are decided"). With [lo, hi] the 95% bootstrap interval of the estimate:

- an exponent (expected value x0): inconsistent if x0 is outside [lo, hi]; consistent if x0 is inside and
  hi - lo <= |x0| / 2 (narrow enough to tell x0 from half or twice it; for x0 = 0, hi - lo <= 1/2, enough to
  tell 0 from 1); inconclusive otherwise.
- an inequality (estimate <= t, or >= t): consistent if the whole interval satisfies it, inconsistent if the
  whole interval violates it, inconclusive if the interval straddles t.

Checks per run; the task family says what (simulations.tasks: classification / tokens / regression):
  exponent          mean per-task risk ~ N^b on the fit range [asymptotic start, n_max] (simulations.rates),
                    expected -1 / -1/2 / -1
  exponent, ref     the same fit for the task's reference on the same tasks (the Bayes-optimal classifier, or
                    logistic under label noise; the Dirichlet posterior mean; the Bayes floor tr(Sigma_N)):
                    tells whether the N range reached the asymptotic regime at all
  scaling           N*(eps) ~ d^b / (m V)^b / d^b, pooled over eps, expected 1 (and the same for the reference)
  holds             for each upper bound of the same problem: the (1 - DELTA)-quantile of per-task risk at
                    N = ceil(bound.n(eps, DELTA, ...)) is <= eps, at the smallest eps of EPS_GRID the measured
                    quantile curve reaches within n_max
  conservativeness  bound.n / measured N*_(1 - DELTA)(eps) at that eps, expected >= 1
                    (both rows carry explicit: False and a note for a bound whose constant is unspecified, e.g.
                    the paper's C set to 1: an O(.) claim makes no quantitative promise, so they only describe)
  icl-vs-finetune   ICL-vs-fine-tuned distance at N = n_max over that at N = 1, expected < 1 (they converge)
  task checks       a family's own ratios (simulations.tasks.RatioCheck); regression: squared error of ICL at
                    N = 2d over the Bayes (ridge) floor, sigma^2 added to both, expected <= 1.5
Bounded context (simulations.bounded):
  window scaling    exponent in m of the window N*(eps), random selection: 1, retrieval: 0 (the bounded claim's
                    reading); holds / conservativeness of the bounded claim (l = 1) on the retrieval windows
  fixed-context     |empirical - true| error of one fixed in-context predictor on n held-out examples, n from the
  coverage          fixed-context claim and from Hoeffding at eps = 0.1: failure rate <= DELTA (exact binomial
                    test at level 0.01)
  length            in-context gain at 2T and 4T over the gain at the trained length T, expected >= 1
Bounds are taken from the catalogue by id, never re-typed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

import theory
from simulations import rates
from simulations.config import curve_key
from simulations.finetune import grid
from simulations.run import Run

DELTA = 0.1
UNSPECIFIED_NOTE = "unspecified constant set to 1: descriptive only, not a test of the O(.) claim"
EPS_GRID = (0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.075, 0.05, 0.03, 0.02)
VERDICTS = ("consistent", "inconsistent", "inconclusive")


def decide_exponent(est: rates.Estimate, expected: float) -> str:
    lo, hi = est.ci
    if not all(np.isfinite([est.value, lo, hi])):
        return "inconclusive"
    if not lo <= expected <= hi:
        return "inconsistent"
    width = abs(expected) / 2 if expected != 0 else 0.5  # an expected 0 must be told from the alternative, 1
    return "consistent" if hi - lo <= width else "inconclusive"


def decide_inequality(est: rates.Estimate, threshold: float, direction: str) -> str:
    """direction '<=' or '>=': does the estimate satisfy `estimate direction threshold`?"""
    lo, hi = est.ci
    if np.isnan(est.value) or np.isnan(lo) or np.isnan(hi):
        return "inconclusive"
    ok, bad = (hi <= threshold, lo > threshold) if direction == "<=" else (lo >= threshold, hi < threshold)
    return "consistent" if ok else "inconsistent" if bad else "inconclusive"


def _row(claim: str, check: str, params: dict, verdict: str, est: rates.Estimate, expected, **extra) -> dict:
    assert verdict in VERDICTS
    out = {"claim": claim, "check": check, "params": params, "verdict": verdict} | est.to_dict()
    return out | {"expected": expected} | extra


def units(run: Run, params: dict, name: str) -> np.ndarray:
    """[units, N] errors of method `name` for the curve with `params` (seeds and tasks flattened)."""
    return _flat(run.errors[f"{curve_key(params)}/{name}"])


def reference(run: Run, curves: Sequence[dict]) -> str | None:
    """The task's first reference baseline present for every one of `curves` (None if there is none)."""
    for name in run.cfg.task.references:
        if all(f"{curve_key(p)}/{name}" in run.errors for p in curves):
            return name
    return None


def run_verdicts(run: Run, *, seed: int = 0) -> list[dict]:
    """Every check above for one finished run (see the module docstring); what is checked comes from the task
    family (simulations.tasks.Task: claim, exponent, bounds, references, checks)."""
    task = run.cfg.task
    n_max = task.n_max
    ns = np.arange(n_max + 1)
    out = []
    for i, params in enumerate(task.curves):
        s = seed + 100 * i
        start = task.asymptotic_start(params)
        est = rates.exponent(units(run, params, task.risk), ns, start, seed=s)
        out.append(
            _row(task.claim, "exponent", params, decide_exponent(est, task.exponent), est, task.exponent)
            | {"rule": "expected inside the CI, CI width <= |expected|/2"}
        )
        ref = reference(run, [params])
        if ref is not None:
            est = rates.exponent(units(run, params, ref), ns, start, seed=s + 2)
            check = f"exponent, {ref} reference"
            out.append(_row(task.claim, check, params, decide_exponent(est, task.exponent), est, task.exponent))
        out += bound_checks(task.bounds, params, units(run, params, task.tail), ns, s)
        ft = units(run, params, "icl_vs_finetune")
        g = grid(n_max)
        est = rates.ratio(ft, len(g) - 1, g.index(1), seed=s + 1)
        est = rates.Estimate(est.value, est.ci, {"n_examples": [1, n_max]})
        out.append(_row(task.claim, "icl-vs-finetune", params, decide_inequality(est, 1.0, "<="), est, "< 1"))
        out += [ratio_check(run, c, params, s + 3 + j) for j, c in enumerate(task.checks())]
    curves = task.curves
    starts = [task.asymptotic_start(p) for p in curves]
    ref = reference(run, curves)
    for j, (name, label) in enumerate(((task.risk, ""), (ref, f", {ref} reference"))):
        if name is None:
            continue
        est = rates.scaling([(task.size(p), units(run, p, name)) for p in curves], ns, starts, seed=seed + 7 + j)
        check = f"scaling in {task.size_name}{label}"
        out.append(
            _row(task.claim, check, {}, decide_exponent(est, 1.0), est, 1.0)
            | {"rule": "expected inside the CI, CI width <= |expected|/2"}
        )
    return out


def ratio_check(run: Run, check, params: dict, seed: int) -> dict:
    """A task's own ratio verdict (simulations.tasks.RatioCheck) on one curve."""
    at = check.at(params)
    expected = f"{check.direction} {check.threshold:g}"
    where = params | {"N": at}
    if at > run.cfg.task.n_max:
        est = rates.Estimate(np.nan, (np.nan, np.nan), {"reason": f"N = {at} > n_max = {run.cfg.task.n_max}"})
        return _row(run.cfg.task.claim, check.label, where, "inconclusive", est, expected)
    a, b = units(run, params, check.numerator), units(run, params, check.denominator)
    est = rates.ratio_between(a, b, at, offset=check.offset, seed=seed)
    verdict = decide_inequality(est, check.threshold, check.direction)
    return _row(run.cfg.task.claim, check.label, where, verdict, est, expected)


def target_eps(tail_units: np.ndarray, ns: np.ndarray) -> float | None:
    """The smallest eps of EPS_GRID whose (1 - DELTA)-quantile N* is within the measured range, if any."""
    curve = rates.quantile(tail_units, 1 - DELTA)
    reached = [e for e in EPS_GRID if np.isfinite(rates.n_star(curve, ns, e))]
    return min(reached) if reached else None


def bound_checks(bound_ids: Iterable[str], params: dict, tail: np.ndarray, ns: np.ndarray, seed: int) -> list[dict]:
    """'holds' and 'conservativeness' rows for each bound, on per-task risk `tail` [units, N] (module docstring)."""
    eps = target_eps(tail, ns)
    n_max = int(ns[-1])
    rows = []
    for bound_id in bound_ids:
        bound = theory.get(bound_id)
        if eps is None:
            none = rates.Estimate(np.nan, (np.nan, np.nan), {"reason": f"no eps in {EPS_GRID} reached by N = {n_max}"})
            rows += [_row(bound_id, c, params, "inconclusive", none, None) for c in ("holds", "conservativeness")]
            continue
        n_bound = math.ceil(float(bound.n(eps=eps, delta=DELTA, **params)))
        at = min(n_bound, n_max)
        q = rates.quantile_at(tail, at, 1 - DELTA, seed=seed)
        if n_bound <= n_max:
            verdict = decide_inequality(q, eps, "<=")
        else:  # the bound's N is beyond the data: it holds there if the error is already below eps at n_max
            verdict = "consistent" if q.ci[1] <= eps else "inconclusive"
        where = {"eps": eps, "delta": DELTA, "n_bound": n_bound, "measured_at": at}
        # A bound whose constant is unspecified (C = 1 by default) makes no quantitative promise: its rows describe.
        role = {"explicit": bound.explicit} | ({} if bound.explicit else {"note": UNSPECIFIED_NOTE})
        rows.append(_row(bound_id, "holds", params | where, verdict, q, f"<= {eps:g}", **role))
        nq = rates.n_star_estimate(tail, ns, eps, level=1 - DELTA, seed=seed + 1)
        lo, hi = (max(v, 1.0) for v in nq.ci)  # N* = 0 (already below eps with no example) counts as 1
        ratio = rates.Estimate(n_bound / max(nq.value, 1.0), (n_bound / hi, n_bound / lo), {"n_star": nq.to_dict()})
        verdict = decide_inequality(ratio, 1.0, ">=")
        rows.append(_row(bound_id, "conservativeness", params | where, verdict, ratio, ">= 1", **role))
    return rows


# ---- bounded context (simulations.bounded) -------------------------------------------------------------------
BOUNDED = "paper.text-generation-bounded"
FIXED = "paper.linear-classification-fixed"
FIXED_EPS = 0.1


def window_verdicts(errors: dict[str, np.ndarray], ms: Sequence[int], V: int, *, seed: int = 0) -> list[dict]:
    """Scaling in m of the window N*(eps) needed, per policy (random: 1, retrieval: 0, the reading of the bounded
    claim), and the bounded claim's 'holds' check on the retrieval windows at the largest m."""
    rows = []
    first = next(iter(errors.values()))
    ns = np.arange(first.shape[-1])
    for j, policy in enumerate(sorted({k.split("/")[1] for k in errors})):
        sized = [(m, _flat(errors[f"m={m}/{policy}"])) for m in ms]
        est = rates.scaling(sized, ns, [1] * len(ms), seed=seed + j)
        expected = 0.0 if policy == "retrieval" else 1.0
        rows.append(
            _row(BOUNDED, f"window scaling in m, {policy}", {"V": V}, decide_exponent(est, expected), est, expected)
            | {"rule": "expected inside the CI; CI width <= |expected|/2 (<= 1/2 for an expected 0)"}
        )
    if any(k.endswith("/retrieval") for k in errors):
        m = max(ms)
        tail = _flat(errors[f"m={m}/retrieval"])
        rows += bound_checks([BOUNDED], {"m": m, "V": V, "l": 1}, tail, ns, seed + 10)
    return rows


def fixed_context_verdicts(fixed: dict[str, np.ndarray]) -> list[dict]:
    """|empirical - true| error of one fixed in-context predictor on n held-out examples, at n from the fixed-context
    claim and from Hoeffding: the failure rate P(gap >= eps) must be compatible with <= delta (exact binomial
    test at level 0.01, as in the Monte-Carlo checks)."""
    holdout = fixed["holdout"].reshape(-1, fixed["holdout"].shape[-1])
    true = fixed["true_error"].reshape(-1)
    rows = []
    for bound_id in (FIXED, "hoeffding"):
        n = math.ceil(float(theory.get(bound_id).n(eps=FIXED_EPS, delta=DELTA)))
        if n > holdout.shape[1]:
            est = rates.Estimate(np.nan, (np.nan, np.nan), {"reason": f"n = {n} > {holdout.shape[1]} held-out"})
            rows.append(_row(bound_id, "fixed-context coverage", {}, "inconclusive", est, f"<= {DELTA:g}"))
            continue
        gap = np.abs(holdout[:, :n].mean(1) - true)
        c = theory.compare(theory.get(bound_id), n, gap, eps=FIXED_EPS, delta=DELTA)
        detail = {
            "failures": c.failures,
            "units": c.trials,
            "p_value": c.p_value,
            "gap_quantile": float(np.quantile(gap, 1 - DELTA)),
        }
        est = rates.Estimate(c.rate, c.ci95, detail)
        verdict = c.verdict
        params = {"eps": FIXED_EPS, "delta": DELTA, "n": n}
        rows.append(_row(bound_id, "fixed-context coverage", params, verdict, est, f"<= {DELTA:g}"))
    return rows


def length_verdicts(runs: dict[str, Run], *, seed: int = 0) -> list[dict]:
    """In-context gain kept at 2T and 4T (T = trained length) for each position encoding: expected >= 1."""
    rows = []
    for i, (pos, run) in enumerate(runs.items()):
        T, n_max = run.cfg.task.train_n_max, run.cfg.task.n_max
        params = run.cfg.task.curves[0]
        u = units(run, params, "icl_risk")
        for j, beyond in enumerate(b for b in (2 * T, 4 * T) if b <= n_max):
            est = rates.gain_kept(u, T, beyond, seed=seed + 10 * i + j)
            check = f"length generalization, {pos}: gain kept at N = {beyond // T}T"
            rows.append(
                _row(BOUNDED, check, params | {"T": T, "N": beyond}, decide_inequality(est, 1.0, ">="), est, ">= 1")
            )
    return rows


def _flat(values: np.ndarray) -> np.ndarray:
    return values.reshape(-1, values.shape[-1]).astype(np.float64)


def coverage_verdicts(results: Iterable[dict]) -> list[dict]:
    """Monte-Carlo coverage results (theory.montecarlo.coverage) as verdict rows: failure rate <= delta."""
    rows = []
    for c in results:
        delta = c["params"]["delta"]
        verdict = "consistent" if c["passed"] else "inconsistent"
        est = rates.Estimate(c["rate"], tuple(c["ci95"]), {"rule": "exact binomial test at alpha = 0.01"})
        rows.append(_row(c["bound"], f"coverage: {c['experiment']}", c["params"], verdict, est, f"<= {delta:g}"))
    return rows


def summary(verdicts: list[dict]) -> dict[str, int]:
    return {v: sum(r["verdict"] == v for r in verdicts) for v in VERDICTS}
