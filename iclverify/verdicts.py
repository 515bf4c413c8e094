"""Verdicts: measured rates from simulation runs, joined with the catalogue's bounds.

Every verdict is `consistent`, `inconsistent` or `inconclusive`, by rules fixed before any data was looked at
(docs: "How verdicts are decided"), and every row has a kind: `falsifiable` (some outcome of the data would make
it inconsistent, and it bears on a claim) or `sanity` (descriptive: it checks the experiment, restates a theorem,
or reads a bound whose constant is unspecified; never counted as support). With [lo, hi] the 95% two-stage
bootstrap interval of the estimate (simulations.rates):

- an upper-bound exponent (claimed x0, alternative x1 > x0, larger is worse: a slower decay in N, a stronger
  growth with the size): the claim bounds the rate from one side, so a rate at least as good is consistent.
  Inconsistent if lo > x0; otherwise consistent if hi < x1 (the data exclude the alternative), else
  inconclusive. x1 is x0/2 for an exponent in N (a rate half as fast), 2 x0 for a scaling in the size (twice
  the dependence; 1 for a claimed 0).
- an inequality (estimate <= t, or >= t): consistent if the whole interval satisfies it, inconsistent if the
  whole interval violates it, inconclusive if the interval straddles t.
- an equivalence (|difference| <= margin, two one-sided tests at 5%, Schuirmann 1987): consistent if the 90%
  interval lies inside (-margin, margin), inconsistent if it lies entirely outside, inconclusive otherwise.

Checks per run; the task family says what (simulations.tasks: classification / tokens / regression):
  exponent          falsifiable. Mean per-task risk ~ N^b on log-spaced N from the asymptotic start to n_max
                    (simulations.rates.fit_points), claimed -1 / -1/2 / -1; per-seed fits in the detail
  exponent, ref     sanity. The same fit for the task's reference on the same tasks (the Bayes-optimal
                    classifier, or logistic under label noise; the posterior mean; the Bayes floor): tells whether
                    the N range reached the asymptotic regime at all
  scaling           falsifiable. N*(eps) ~ size^b (d, m V), pooled over eps, claimed 1 (sanity for the reference)
  holds             for each upper bound of the same problem, at the eps whose bound N is n_max (the most
                    demanding eps inside the measured range; never extrapolated): the (1 - DELTA)-quantile of
                    per-task risk at N = ceil(bound.n(eps)) is <= eps. Falsifiable for a bound with explicit
                    constants that is not vacuous (eps < the metric's maximum); sanity otherwise (an O(.) claim
                    with its constant set to 1 makes no quantitative promise)
  conservativeness  sanity. bound.n / measured N*_(1 - DELTA)(eps) at that eps: how loose the bound is
  icl-vs-finetune   falsifiable. Mean per-task risk of ICL minus that of the fine-tuned model at N = n_max,
                    paired on the same tasks and queries, equivalent within the task's margin (Task.margin)
  fine-tuned vs     sanity. The fine-tuned model's risk minus a classical learner's error at n_max
  classical         (Task.finetune_reference: logistic regression for halfspaces) <= the margin: is the
                    opponent fair?
  task checks       falsifiable. A family's own ratios (simulations.tasks.RatioCheck)
Bounded context (simulations.bounded):
  window scaling    exponent in m of the window N*(eps): retrieval, claimed 0 (the bounded claim's reading),
                    falsifiable; random selection, 1, sanity (what the claim's alternative does)
  fixed-context     sanity. |empirical - true| error of one fixed in-context predictor on n held-out examples,
  coverage          n from the fixed-context claim (constant unspecified) and from Hoeffding (a theorem)
  length            sanity. In-context gain at 2T and 4T over the gain at the trained length T, >= 1
Monte-Carlo coverage rows (theory.montecarlo) are falsifiable: they test the catalogue's constants.
Bounds are taken from the catalogue by id, never re-typed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np

import theory
from simulations import rates
from simulations.config import curve_key
from simulations.finetune import finetuned_name, grid
from simulations.run import Run

DELTA = 0.1
UNSPECIFIED_NOTE = "unspecified constant set to 1: descriptive only, not a test of the O(.) claim"
EPS_GRID = (0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.075, 0.05, 0.03, 0.02)  # the N*(eps) table of the report
VERDICTS = ("consistent", "inconsistent", "inconclusive")
KINDS = ("falsifiable", "sanity")
EQUIVALENCE_LEVEL = 0.90  # two one-sided tests at 5% each
RULES = {
    "upper": "one-sided: inconsistent if CI low > claimed; consistent if CI high < alternative",
    "inequality": "the whole 95% CI on the expected side",
    "equivalence": "90% CI inside (-margin, margin); outside: inconsistent",
}


def alternative(claimed: float, *, in_n: bool) -> float:
    """The rate an upper-bound check must exclude: half as fast in N (x0/2), or twice the growth in size."""
    if in_n:
        return claimed / 2
    return 2 * claimed if claimed != 0 else 1.0


def decide_upper(est: rates.Estimate, claimed: float, alt: float) -> str:
    """One-sided rule for a claimed upper-bound exponent (module docstring)."""
    lo, hi = est.ci
    if not all(np.isfinite([est.value, lo])) or np.isnan(hi):
        return "inconclusive"
    if lo > claimed:
        return "inconsistent"
    return "consistent" if hi < alt else "inconclusive"


def decide_inequality(est: rates.Estimate, threshold: float, direction: str) -> str:
    """direction '<=' or '>=': does the estimate satisfy `estimate direction threshold`?"""
    lo, hi = est.ci
    if np.isnan(est.value) or np.isnan(lo) or np.isnan(hi):
        return "inconclusive"
    ok, bad = (hi <= threshold, lo > threshold) if direction == "<=" else (lo >= threshold, hi < threshold)
    return "consistent" if ok else "inconsistent" if bad else "inconclusive"


def decide_equivalence(est: rates.Estimate, margin: float) -> str:
    """Two one-sided tests on a difference with its 90% interval (module docstring)."""
    lo, hi = est.ci
    if np.isnan(est.value) or np.isnan(lo) or np.isnan(hi):
        return "inconclusive"
    if -margin < lo and hi < margin:
        return "consistent"
    return "inconsistent" if lo >= margin or hi <= -margin else "inconclusive"


@dataclass(frozen=True)
class Verdict:
    """One checked statement and its outcome.

    Attributes:
        claim: what is tested: a catalogue bound's id (`paper.linear-classification`, `vc.hanneke`, ...).
        check: which check of that claim (`exponent`, `scaling in d`, `holds`, `icl-vs-finetune`, ...).
        kind: `falsifiable` (some data would make it inconsistent, and it bears on a claim) or `sanity`
            (descriptive; never counted as support).
        params: where it was checked (the curve's d or (m, V), eps, delta, N, ...).
        verdict: `consistent`, `inconsistent` or `inconclusive`, by `rule`.
        estimate: the measured quantity (an exponent, a quantile, a ratio, a difference, a failure rate); None
            when it could not be measured (`detail["reason"]` says why).
        interval: its bootstrap (or exact binomial) interval, 95% unless `detail["level"]` says otherwise; an
            unbounded end is None.
        expected: what the claim predicts, as text (`<= -1`, `|diff| < 0.05`, ...), or None.
        rule: the decision rule, fixed before the data (module docstring).
        detail: the estimate's own numbers (fit range, per-seed values, ...) and the check's extras.
    """

    claim: str
    check: str
    kind: str
    params: dict
    verdict: str
    estimate: float | None
    interval: tuple[float | None, float | None]
    expected: str | None
    rule: str
    detail: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS or self.kind not in KINDS:
            raise ValueError(
                f"verdict must be one of {VERDICTS} and kind one of {KINDS}; got {self.verdict!r}, {self.kind!r}"
            )

    def to_dict(self) -> dict:
        """A flat JSON record (verdicts.json, `--json`): the fields, with `detail`'s entries at the top level."""
        core = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "detail"}
        return core | {"interval": list(self.interval)} | self.detail

    def with_detail(self, **extra) -> Verdict:
        """This verdict with more detail (e.g. the run directory it came from)."""
        return replace(self, detail=self.detail | extra)


def _row(
    claim: str, check: str, params: dict, verdict: str, est: rates.Estimate, expected, role: str, rule: str, **extra
) -> Verdict:
    measured = est.to_dict()
    value, interval = measured.pop("estimate"), tuple(measured.pop("ci"))
    return Verdict(claim, check, role, params, verdict, value, interval, expected, rule, measured | extra)


def units(run: Run, params: dict, name: str) -> np.ndarray:
    """[seeds, tasks, N] errors of method `name` for the curve with `params` ([1, tasks, N] for a baseline)."""
    return rates.as_units(run.errors[f"{curve_key(params)}/{name}"])


def reference(run: Run, curves: Sequence[dict]) -> str | None:
    """The task's first reference present for every one of `curves`, by its per-task risk when measured (e.g.
    bayes_risk, Task.reference_predictions) or else by its error on one query per task (None if there is none)."""
    task = run.cfg.task
    for name in task.references:
        for candidate in (name + task.risk.removeprefix("icl"), name):
            if all(f"{curve_key(p)}/{candidate}" in run.errors for p in curves):
                return candidate
    return None


def upper_row(
    claim: str, check: str, params: dict, est: rates.Estimate, claimed: float, role: str, *, in_n: bool
) -> Verdict:
    """The row of an upper-bound exponent: in N (in_n) or of N* in the problem's size."""
    alt = alternative(claimed, in_n=in_n)
    verdict = decide_upper(est, claimed, alt)
    return _row(claim, check, params, verdict, est, f"<= {claimed:g}", role, RULES["upper"], alternative=alt)


def run_verdicts(run: Run, *, seed: int = 0) -> list[Verdict]:
    """Every check above for one finished run (see the module docstring); what is checked comes from the task
    family (simulations.tasks.Task: claim, exponent, bounds, references, margin, checks).

    Args:
        run: a finished run (simulations.run.load_run), with its per-unit errors.
        seed: the seed of the bootstrap intervals (each curve and check derives its own from it).

    Returns:
        Per curve: exponent (and its reference's), holds and conservativeness per bound, icl-vs-finetune and
        the fine-tuned opponent's strength (when the run fine-tuned), the family's own ratio checks; then the
        scaling in the family's size (and its reference's).
    """
    task = run.cfg.task
    ns = np.arange(task.n_max + 1)
    out = []
    for i, params in enumerate(task.curves):
        s = seed + 100 * i
        start = task.asymptotic_start(params)
        est = rates.exponent(units(run, params, task.risk), ns, start, seed=s)
        out.append(upper_row(task.claim, "exponent", params, est, task.exponent, "falsifiable", in_n=True))
        ref = reference(run, [params])
        if ref is not None:
            est = rates.exponent(units(run, params, ref), ns, start, seed=s + 2)
            out.append(
                upper_row(task.claim, f"exponent, {ref} reference", params, est, task.exponent, "sanity", in_n=True)
            )
        out += bound_checks(task.bounds, params, units(run, params, task.tail), ns, s, task.error_max)
        if run.cfg.eval.finetune_tasks:  # 0: the run has no fine-tuned opponent
            out.append(finetune_equivalence(run, params, s + 1))
            if task.finetune_reference is not None:
                out.append(finetune_strength(run, params, s + 4))
        out += [ratio_check(run, c, params, s + 3 + j) for j, c in enumerate(task.checks())]
    curves = task.curves
    starts = [task.asymptotic_start(p) for p in curves]
    ref = reference(run, curves)
    for j, (name, label, role) in enumerate(((task.risk, "", "falsifiable"), (ref, f", {ref} reference", "sanity"))):
        if name is None:
            continue
        est = rates.scaling([(task.size(p), units(run, p, name)) for p in curves], ns, starts, seed=seed + 7 + j)
        out.append(upper_row(task.claim, f"scaling in {task.size_name}{label}", {}, est, 1.0, role, in_n=False))
    return out


def finetune_equivalence(run: Run, params: dict, seed: int) -> Verdict:
    """ICL minus fine-tuned mean per-task risk at N = n_max on the same tasks and queries, within the task's
    margin."""
    task = run.cfg.task
    ft = units(run, params, finetuned_name(task.risk))
    icl = units(run, params, task.risk)[:, : ft.shape[1], grid(task.n_max)]
    est = rates.difference(icl, ft, -1, seed=seed, level=EQUIVALENCE_LEVEL)
    est = rates.Estimate(
        est.value, est.ci, est.detail | {"icl": float(icl[..., -1].mean()), "finetune": float(ft[..., -1].mean())}
    )
    where = params | {"N": task.n_max, "margin": task.margin}
    verdict = decide_equivalence(est, task.margin)
    return _row(
        task.claim,
        "icl-vs-finetune",
        where,
        verdict,
        est,
        f"|diff| < {task.margin:g}",
        "falsifiable",
        RULES["equivalence"],
    )


def finetune_strength(run: Run, params: dict, seed: int) -> Verdict:
    """Sanity: is the fine-tuned opponent at least as good as a classical learner (Task.finetune_reference) at
    N = n_max, within the equivalence margin? Fine-tuned per-task risk minus the classical learner's error (on
    other tasks of the same curve: unpaired)."""
    task = run.cfg.task
    ft = units(run, params, finetuned_name(task.risk))[..., -1:]
    ref = units(run, params, task.finetune_reference)[..., -1:]
    est = rates.bootstrap_means(lambda a, b: a[..., 0] - b[..., 0], [ft, ref], seed=seed, resamples=rates.RESAMPLES)
    where = params | {"N": task.n_max, "margin": task.margin}
    check = f"fine-tuned minus {task.finetune_reference}"
    verdict = decide_inequality(est, task.margin, "<=")
    return _row(task.claim, check, where, verdict, est, f"<= {task.margin:g}", "sanity", RULES["inequality"])


def ratio_check(run: Run, check, params: dict, seed: int) -> Verdict:
    """A task's own ratio verdict (simulations.tasks.RatioCheck) on one curve."""
    at = check.at(params)
    expected = f"{check.direction} {check.threshold:g}"
    where = params | {"N": at}
    claim, rule = run.cfg.task.claim, RULES["inequality"]
    if at > run.cfg.task.n_max:
        est = rates.undefined(f"N = {at} > n_max = {run.cfg.task.n_max}")
        return _row(claim, check.label, where, "inconclusive", est, expected, "falsifiable", rule)
    a, b = units(run, params, check.numerator), units(run, params, check.denominator)
    est = rates.ratio_between(a, b, at, offset=check.offset, seed=seed, paired=a.shape[1] == b.shape[1])
    verdict = decide_inequality(est, check.threshold, check.direction)
    return _row(claim, check.label, where, verdict, est, expected, "falsifiable", rule)


def target_eps(bound: theory.Bound, n_max: int, params: dict, error_max: float) -> tuple[float | None, str]:
    """The eps whose bound N is n_max (the smallest eps the measured range can test), or None with the reason."""
    try:
        eps = float(bound.eps_at(n_max, delta=DELTA, **params))
    except ValueError:
        return None, f"vacuous up to n_max = {n_max}: no eps <= {bound.eps_max:g}"
    if not np.isfinite(eps):
        return None, f"no eps at n_max = {n_max}"
    if eps >= error_max:
        return None, f"vacuous at n_max = {n_max}: eps = {eps:.3g} >= the metric's maximum {error_max:g}"
    return eps, ""


def bound_checks(
    bound_ids: Iterable[str], params: dict, tail: np.ndarray, ns: np.ndarray, seed: int, error_max: float = 1.0
) -> list[Verdict]:
    """'holds' and 'conservativeness' rows for each bound, on per-task risk `tail` [S, T, N] (module docstring)."""
    n_max = int(ns[-1])
    rows = []
    for bound_id in bound_ids:
        bound = theory.get(bound_id)
        eps, reason = target_eps(bound, n_max, params, error_max)
        role = "falsifiable" if bound.explicit else "sanity"
        about = {"explicit": bound.explicit} | ({} if bound.explicit else {"note": UNSPECIFIED_NOTE})
        if eps is None:
            none = rates.undefined(reason)
            rows += [
                _row(bound_id, c, params, "inconclusive", none, None, "sanity", RULES["inequality"], **about)
                for c in ("holds", "conservativeness")
            ]
            continue
        n_bound = min(math.ceil(float(bound.n(eps=eps, delta=DELTA, **params)) - 1e-9), n_max)
        q = rates.quantile_at(tail, n_bound, 1 - DELTA, seed=seed)
        where = {"eps": eps, "delta": DELTA, "n_bound": n_bound}
        verdict = decide_inequality(q, eps, "<=")
        rows.append(
            _row(bound_id, "holds", params | where, verdict, q, f"<= {eps:.4g}", role, RULES["inequality"], **about)
        )
        nq = rates.n_star_estimate(tail, ns, eps, level=1 - DELTA, seed=seed + 1)
        lo, hi = (max(v, 1.0) for v in nq.ci)  # N* = 0 (already below eps with no example) counts as 1
        ratio = rates.Estimate(n_bound / max(nq.value, 1.0), (n_bound / hi, n_bound / lo), {"n_star": nq.to_dict()})
        verdict = decide_inequality(ratio, 1.0, ">=")
        rows.append(
            _row(
                bound_id,
                "conservativeness",
                params | where,
                verdict,
                ratio,
                ">= 1",
                "sanity",
                RULES["inequality"],
                **about,
            )
        )
    return rows


# ---- bounded context (simulations.bounded) -------------------------------------------------------------------
BOUNDED = "paper.text-generation-bounded"
FIXED = "paper.linear-classification-fixed"
FIXED_EPS = 0.1


def window_verdicts(errors: dict[str, np.ndarray], ms: Sequence[int], V: int, *, seed: int = 0) -> list[Verdict]:
    """Scaling in m of the window N*(eps) needed, per policy (retrieval: 0, the reading of the bounded claim;
    random: 1, descriptive), and the bounded claim's 'holds' check on the retrieval windows at the largest m.

    Args:
        errors: per-unit errors keyed `m=<m>/<policy>` (simulations.bounded.window_errors), each [S, T, N+1]
            over window sizes N = 0..N_max.
        ms: the numbers of contexts m, one curve each.
        V: the vocabulary size (the retrieval fit starts at a window of V examples, the random one at m V).
        seed: the seed of the bootstrap intervals.

    Returns:
        One `window scaling in m, <policy>` row per policy, then the bounded claim's holds and
        conservativeness rows at the largest m (when the retrieval policy was run).
    """
    rows = []
    first = next(iter(errors.values()))
    ns = np.arange(first.shape[-1])
    for j, policy in enumerate(sorted({k.split("/")[1] for k in errors})):
        sized = [(m, errors[f"m={m}/{policy}"]) for m in ms]
        retrieval = policy == "retrieval"
        # the asymptotic regime: a few examples per next-token law in the window (V with retrieval, m V without)
        starts = [V if retrieval else m * V for m in ms]
        est = rates.scaling(sized, ns, starts, seed=seed + j)
        role = "falsifiable" if retrieval else "sanity"
        rows.append(
            upper_row(
                BOUNDED,
                f"window scaling in m, {policy}",
                {"V": V, "policy": policy},
                est,
                0.0 if retrieval else 1.0,
                role,
                in_n=False,
            )
        )
    if any(k.endswith("/retrieval") for k in errors):
        m = max(ms)
        tail = errors[f"m={m}/retrieval"]
        rows += bound_checks([BOUNDED], {"m": m, "V": V, "l": 1}, tail, ns, seed + 10)
    return rows


def fixed_context_verdicts(fixed: dict[str, np.ndarray]) -> list[Verdict]:
    """|empirical - true| error of one fixed in-context predictor on n held-out examples, at n from the fixed-context
    claim and from Hoeffding: the failure rate P(gap >= eps) must be compatible with <= delta (exact binomial
    test at level 0.01, as in the Monte-Carlo checks). Sanity rows: Hoeffding is a theorem, and the claim's
    constant is unspecified.

    Args:
        fixed: simulations.bounded.fixed_context's output: `holdout` [..., n_holdout] per-example 0-1 errors of
            each fixed predictor on held-out examples, `true_error` [...] each predictor's true error.

    Returns:
        One `fixed-context coverage` row for the paper's fixed-context bound and one for Hoeffding.
    """
    holdout = fixed["holdout"].reshape(-1, fixed["holdout"].shape[-1])
    true = fixed["true_error"].reshape(-1)
    rows = []
    rule = "exact binomial test at alpha = 0.01"
    for bound_id in (FIXED, "hoeffding"):
        n = math.ceil(float(theory.get(bound_id).n(eps=FIXED_EPS, delta=DELTA)))
        if n > holdout.shape[1]:
            est = rates.undefined(f"n = {n} > {holdout.shape[1]} held-out")
            rows.append(
                _row(bound_id, "fixed-context coverage", {}, "inconclusive", est, f"<= {DELTA:g}", "sanity", rule)
            )
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
        params = {"eps": FIXED_EPS, "delta": DELTA, "n": n}
        rows.append(_row(bound_id, "fixed-context coverage", params, c.verdict, est, f"<= {DELTA:g}", "sanity", rule))
    return rows


def length_verdicts(runs: dict[str, Run], *, seed: int = 0) -> list[Verdict]:
    """In-context gain kept at 2T and 4T (T = trained length) for each position encoding: expected >= 1.

    Args:
        runs: finished length-generalization runs by position encoding (`rope`, `learned`), each trained on
            prompts of train_n_max = T examples and evaluated up to n_max.
        seed: the seed of the bootstrap intervals.

    Returns:
        A sanity row per run and per beyond-length N in (2T, 4T) that is <= n_max.
    """
    rows = []
    for i, (pos, run) in enumerate(runs.items()):
        T, n_max = run.cfg.task.train_n_max, run.cfg.task.n_max
        params = run.cfg.task.curves[0]
        u = units(run, params, "icl_risk")
        for j, beyond in enumerate(b for b in (2 * T, 4 * T) if b <= n_max):
            est = rates.gain_kept(u, T, beyond, seed=seed + 10 * i + j)
            check = f"length generalization, {pos}: gain kept at N = {beyond // T}T"
            verdict = decide_inequality(est, 1.0, ">=")
            where = params | {"T": T, "N": beyond}
            rows.append(_row(BOUNDED, check, where, verdict, est, ">= 1", "sanity", RULES["inequality"]))
    return rows


def coverage_verdicts(results: Iterable[dict]) -> list[Verdict]:
    """Monte-Carlo coverage results (theory.montecarlo.coverage) as verdict rows: failure rate <= delta."""
    rows = []
    for c in results:
        delta = c["params"]["delta"]
        verdict = "consistent" if c["passed"] else "inconsistent"
        est = rates.Estimate(c["rate"], tuple(c["ci95"]), {})
        rule = "exact binomial test at alpha = 0.01"
        check = f"coverage: {c['experiment']}"
        ratio = c["n_empirical_over_bound"]
        extra = {"experiment": c["experiment"], "n": c["n"], "n_empirical_over_bound": ratio}
        rows.append(_row(c["bound"], check, c["params"], verdict, est, f"<= {delta:g}", "falsifiable", rule, **extra))
    return rows


def summary(verdicts: Iterable[Verdict], role: str | None = "falsifiable") -> dict[str, int]:
    """Verdict counts over rows of one kind (None: all rows)."""
    rows = [r for r in verdicts if role is None or r.kind == role]
    return {v: sum(r.verdict == v for r in rows) for v in VERDICTS}
