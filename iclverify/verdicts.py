"""Verdicts: measured rates from simulation runs, joined with the catalogue's bounds.

Every verdict is `consistent`, `inconsistent` or `inconclusive`, by rules fixed before any data was looked at
(docs: "How verdicts are decided"), and every row has a kind: `falsifiable` (some outcome of the data would make
it inconsistent, and it bears on a claim) or `sanity` (descriptive: it checks the experiment, restates a theorem,
or reads a bound whose constant is unspecified; never counted as support). With [lo, hi] the 95% two-stage
bootstrap interval of the estimate (simulations.rates):

- a relative rate (q, the exponent of ICL's sample cost over the reference's, in N or in a size; tolerance tau):
  inconsistent if lo > tau, lo is above the offset floor (the q of a rate-optimal learner with an offset of 2s
  examples on this window, from the reference's own curve) and the training-budget gate agrees (q after one
  more improvement as large as the second half of training gave must still have lo > tau; else inconclusive,
  "still improving"); consistent if hi < tau (with a finite pretraining pool, also after one more equal
  worsening); inconclusive otherwise. tau = 0.25 in N (the alternative, half an order slower, has q = 1/2),
  0.5 in a size (the alternative, one more power of the size, has 1).
- a non-inferiority (statistic <= margin, 90% interval): consistent if hi < margin, inconsistent if lo > margin.
- an inequality (estimate <= t, or >= t): consistent if the whole interval satisfies it, inconsistent if the
  whole interval violates it, inconclusive if the interval straddles t.
- an upper-bound exponent (descriptive rows; claimed x0, alternative x1): inconsistent if lo > x0; consistent if
  hi < x1; else inconclusive.
- an equivalence (|difference| <= margin, two one-sided tests at 5%, Schuirmann 1987): consistent if the 90%
  interval lies inside (-margin, margin), inconsistent if it lies entirely outside, inconclusive otherwise.

Checks per run; the task family says what (simulations.tasks: classification / tokens / regression):
  rate relative to  falsifiable against a reference of proved rate (Task.proven: the Bayes-optimal classifier,
  <reference>       the posterior mean, the Bayes floor), sanity otherwise. q on the top two octaves of N
                    (simulations.rates.relative_exponent), gated by the halfway checkpoint
  exponent, and     sanity. Mean per-task risk ~ N^b of ICL and of its reference on log-spaced N from the
  exponent, ref     asymptotic start to n_max: descriptive (finite-N curves of optimal learners are not power laws)
  N* scaling in     falsifiable as above: the exponent of N*_ICL / N*_reference in each size axis (d; m and V
  <axis> relative   for tokens), claimed 0 (simulations.rates.relative_scaling)
  scaling           sanity. N*(eps) ~ size^b (d, m V) of ICL and of the reference, claimed 1
  holds             for each upper bound of the same problem, at the eps whose bound N is n_max (the most
                    demanding eps inside the measured range; never extrapolated): the (1 - DELTA)-quantile of
                    per-task risk at N = ceil(bound.n(eps)) is <= eps. Falsifiable for a bound with explicit
                    constants that is not vacuous (eps < the metric's maximum); sanity otherwise (an O(.) claim
                    with its constant set to 1 makes no quantitative promise)
  conservativeness  sanity. bound.n / measured N*_(1 - DELTA)(eps) at that eps: how loose the bound is
  icl-vs-finetune   falsifiable. max over the fine-tuning grid's N in [n_max/4, n_max] of (ICL - fine-tuned mean
  non-inferiority   per-task risk) / the reference's, paired on the same tasks and queries, <= NONINFERIORITY
  icl-vs-finetune   sanity. ICL minus fine-tuned at n_max within the task's absolute margin (Task.margin)
  equivalence
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
from simulations import rates, records
from simulations.config import RunConfig
from simulations.finetune import grid
from simulations.presets import PRESETS
from simulations.run import Run

DELTA = 0.1
UNSPECIFIED_NOTE = "unspecified constant set to 1: descriptive only, not a test of the O(.) claim"
EPS_GRID = (0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.075, 0.05, 0.03, 0.02)  # the N*(eps) table of the report
VERDICTS = ("consistent", "inconsistent", "inconclusive")
KINDS = ("falsifiable", "sanity")
EQUIVALENCE_LEVEL = 0.90  # two one-sided tests at 5% each
NONINFERIORITY = 0.25  # ICL may be worse than the fine-tuned model by at most this fraction of the reference's risk
RULES = {
    "relative": "inconsistent if CI low > tolerance, above the offset learner's q, and still after one more equal "
    "improvement of training; consistent if CI high < tolerance",
    "noninferiority": "90% CI high < margin: consistent; CI low > margin: inconsistent",
    "upper": "one-sided: inconsistent if CI low > claimed; consistent if CI high < alternative",
    "inequality": "the whole 95% CI on the expected side",
    "equivalence": "90% CI inside (-margin, margin); outside: inconsistent",
}


# Relative rates (simulations.rates.relative_exponent): q, the exponent of ICL's sample cost over the reference's
# in N (0: a constant factor more examples; 1/2: N* ~ N*_ref^2, the alternative "half an order slower"), and per
# size axis the exponent of N*_ICL / N*_reference in the size (0 claimed; 1 the alternative, one more power of the
# size). A true rate-optimal learner has q near 0 but not at 0 at finite N (one with an offset of 2d examples,
# a/(N + 2d), has q = +0.1..+0.2 on [n_max/4, n_max] for halfspaces at the quick sizes), so each tolerance sits
# halfway between the claim and its alternative; `iclverify calibrate` measures how often the rule is right.
TOLERANCE = 0.25  # of the cost exponent q in N
CONVERGED = 1.25  # a model is called converged when its mean per-task risk at n_max is within this of the reference's
SIZE_TOLERANCE = 0.5  # of the cost exponent in a size
# why a relative row is inconclusive (the start of its `why`; the report's headline counts them)
RANGE_TOO_SHORT, STILL_IMPROVING, TOO_WIDE = "range too short", "still improving", "the interval contains the tolerance"
BUDGET_UNKNOWN = "training budget unknown"  # the halfway checkpoint's curve was not resolved: no gate to pass
UNDERPOWERED = "underpowered"
# Relative checks that `iclverify calibrate` (100 repetitions; docs/verdicts.md, "Calibration") found short of a
# target at a preset's sizes -- power >= 0.8 against an alternative, false alarms <= 0.05 -- declared before any
# run at those sizes was read. A run at those sizes (calibrated_preset) reports these rows as inconclusive,
# "underpowered", with the rule's own outcome in its reason, never as a verdict. Keys: (preset, family, check),
# check "rate" (the relative rate in N) or "size" (the relative N* scaling).
CALIBRATED_SHORT = {
    ("quick", "classification", "size"): "power 0.50 against one more power of d",
    ("quick", "tokens", "rate"): "power 0.60 against a learner that stops improving at n_max/2",
    ("quick", "tokens", "size"): "power 0.39 against one more power of m or V, false alarms 0.06",
    ("quick", "regression", "rate"): "power 0.12 against the reference slowed by N^0.5 (the offset floor)",
    ("standard", "classification", "size"): "power 0.66 against one more power of d",
    ("standard", "tokens", "size"): "power 0.66 against one more power of m or V",
    ("standard", "regression", "rate"): "power 0.47 against the reference slowed by N^0.5 (the offset floor)",
    ("full", "regression", "rate"): "power 0.33 against the reference slowed by N^0.5 (the offset floor)",
}


def calibrated_preset(cfg: RunConfig) -> str | None:
    """The preset whose calibration applies to a run: the one with its task, seeds, per-task-risk tasks and queries
    (what `iclverify calibrate` simulates at); None for other sizes."""
    for name, runs in PRESETS.items():
        p = runs.get(cfg.task.kind)
        if p is not None and (p.task, p.train.seeds, p.eval.risk_tasks, p.eval.risk_queries) == (
            cfg.task,
            cfg.train.seeds,
            cfg.eval.risk_tasks,
            cfg.eval.risk_queries,
        ):
            return name
    return None


def rate_in_n(
    learner: np.ndarray,
    reference: np.ndarray,
    ns: np.ndarray,
    size: float,
    claimed: float,
    *,
    halfway: np.ndarray | None = None,
    seed: int = 0,
    resamples: int = rates.RESAMPLES,
) -> tuple[rates.Estimate, float]:
    """q of the learner against the reference (simulations.rates.relative_exponent) and the offset floor of this
    window, from the reference's own mean curve (simulations.rates.offset_cost): what decide_relative takes."""
    est = rates.relative_exponent(learner, reference, ns, halfway=halfway, seed=seed, resamples=resamples)
    floor = rates.offset_cost(rates.as_units(reference).mean((0, 1)), ns, size, claimed)
    return est, floor


def decide_relative(
    est: rates.Estimate, tau: float, *, gate_down: bool = False, floor: float | None = None
) -> tuple[str, str]:
    """(verdict, reason) for a cost exponent q (in N, or in a size) with its 95% interval [lo, hi].

    Inconsistent when lo > tau and lo > floor (the q of a rate-optimal learner with an offset on this window,
    `simulations.rates.offset_cost`: below it the range cannot tell a slow learner from an offset one), and the
    training-budget gate agrees: with the halfway checkpoint measured (detail 'optimistic': q after one more
    improvement as large as the second half of training gave), that value's low end must also exceed tau, else the
    row is inconclusive because the model was still improving. Consistent when hi < tau (and, with gate_down, for a
    finite pretraining pool where more training can move ICL away from the reference, the 'pessimistic' value's
    high end too). Inconclusive otherwise, or without an estimate. Where the gate could not be measured (detail
    'gate_unknown': the halfway curve not resolved), a verdict that needs the gate is inconclusive."""
    lo, hi = est.ci
    if not all(np.isfinite([est.value, lo])) or np.isnan(hi):
        return "inconclusive", est.detail.get("reason", "no estimate")
    if lo > tau:
        if floor is not None and not lo > floor:
            return "inconclusive", (
                f"{RANGE_TOO_SHORT}: a rate-optimal learner with an offset of {rates.OFFSET} s examples has "
                f"q = {floor:.3g} on this window"
            )
        unknown = est.detail.get("gate_unknown")
        if unknown:
            return "inconclusive", f"{BUDGET_UNKNOWN}: {unknown}"
        opt = est.detail.get("optimistic")
        if opt is not None and not (opt["ci"][0] is not None and opt["ci"][0] > tau):
            gain = est.detail["improvement"]["estimate"]
            return "inconclusive", f"{STILL_IMPROVING}: q fell by {gain:.3g} in the second half of training"
        return "inconsistent", ""
    if hi < tau:
        pes = est.detail.get("pessimistic")
        if gate_down and est.detail.get("gate_unknown"):
            return "inconclusive", f"{BUDGET_UNKNOWN}: {est.detail['gate_unknown']}"
        if gate_down and pes is not None and not (pes["ci"][1] is not None and pes["ci"][1] < tau):
            return "inconclusive", "training moved ICL away from the reference (finite pretraining pool)"
        return "consistent", ""
    return "inconclusive", TOO_WIDE


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

    @classmethod
    def from_dict(cls, record: dict) -> Verdict:
        """A row read back from its `to_dict` record (verdicts.json)."""
        core = {f.name for f in fields(cls)} - {"detail"}
        kept = {k: v for k, v in record.items() if k in core}
        detail = {k: v for k, v in record.items() if k not in core}
        return cls(**kept | {"interval": tuple(record["interval"])}, detail=detail)

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
    return rates.as_units(run.errors.method(params, name))


def reference(run: Run, curves: Sequence[dict]) -> str | None:
    """The task's first reference present for every one of `curves`, by its per-task risk when measured (e.g.
    bayes_risk, Task.reference_predictions) or else by its error on one query per task (None if there is none)."""
    task = run.cfg.task
    for name in task.references:
        for candidate in (records.learner(name, task.risk), name):
            if all(run.errors.has(p, candidate) for p in curves):
                return candidate
    return None


def upper_row(
    claim: str, check: str, params: dict, est: rates.Estimate, claimed: float, role: str, *, in_n: bool
) -> Verdict:
    """The row of an upper-bound exponent: in N (in_n) or of N* in the problem's size."""
    alt = alternative(claimed, in_n=in_n)
    verdict = decide_upper(est, claimed, alt)
    return _row(claim, check, params, verdict, est, f"<= {claimed:g}", role, RULES["upper"], alternative=alt)


def proven(run: Run, ref: str | None) -> str | None:
    """The source of the reference's proved rate (Task.proven), or None when `ref` (a method name such as
    bayes_risk) is not a reference of proved rate."""
    if ref is None:
        return None
    return next((src for name, src in run.cfg.task.proven.items() if ref == name or ref.startswith(name + "_")), None)


def halfway_units(run: Run, params: dict) -> np.ndarray | None:
    """ICL's per-task risks at half the training budget, when the run measured them."""
    early = run.errors.get_method(params, records.halfway(run.cfg.task.risk))
    return None if early is None else rates.as_units(early)


def relative_row(
    run: Run, check: str, params: dict, est: rates.Estimate, tau: float, ref: str, floor: float | None = None
) -> Verdict:
    """A rate relative to the reference (simulations.rates.relative_exponent / relative_scaling), decided by
    decide_relative; falsifiable against a reference of proved rate, a sanity row otherwise. At a preset's sizes
    where the calibration found the check short of its targets (CALIBRATED_SHORT) the row is inconclusive,
    underpowered."""
    source = proven(run, ref)
    verdict, reason = decide_relative(est, tau, gate_down=run.cfg.task.pool is not None, floor=floor)
    which = "rate" if check.startswith("rate relative") else "size"
    short = CALIBRATED_SHORT.get((calibrated_preset(run.cfg), run.cfg.task.kind, which))
    if short:
        rule = verdict + (f" ({reason})" if reason else "")
        verdict, reason = "inconclusive", f"{UNDERPOWERED} at these sizes ({short}); the rule alone: {rule}"
    role = "falsifiable" if source else "sanity"
    extra = {"reference": ref, "tolerance": tau} | ({} if floor is None else {"offset_q": floor})
    extra |= {"proved": source} if source else {"note": f"{ref} has no proved rate: descriptive only"}
    if reason and verdict == "inconclusive":
        extra["why"] = reason
    return _row(run.cfg.task.claim, check, params, verdict, est, f"<= {tau:g}", role, RULES["relative"], **extra)


def run_verdicts(run: Run, *, seed: int = 0) -> list[Verdict]:
    """Every check above for one finished run (see the module docstring); what is checked comes from the task
    family (simulations.tasks.Task: claim, exponent, bounds, references, proven, margin, checks).

    Args:
        run: a finished run (simulations.run.load_run), with its per-unit errors.
        seed: the seed of the bootstrap intervals (each curve and check derives its own from it).

    Returns:
        Per curve: the rate relative to the reference, the absolute exponents of ICL and the reference
        (descriptive), holds and conservativeness per bound, non-inferiority to the fine-tuned model and the
        equivalence and the opponent's strength (when the run fine-tuned), the family's own ratio checks; then the
        size checks relative to the reference, per size axis, and the absolute scalings (descriptive).
    """
    task = run.cfg.task
    ns = np.arange(task.n_max + 1)
    tau = TOLERANCE
    ref = reference(run, task.curves)
    out, sized = [], []  # sized: each curve's arrays for the size checks
    for i, params in enumerate(task.curves):
        s = seed + 100 * i
        icl = units(run, params, task.risk)
        if ref is not None:
            base, half = ref_units(run, params, ref, icl.shape[1]), halfway_units(run, params)
            sized.append((task.size_axes(params), icl, base, half))
            est, floor = rate_in_n(icl, base, ns, task.size(params), task.exponent, halfway=half, seed=s + 5)
            out.append(relative_row(run, f"rate relative to {ref}", params, est, tau, ref, floor))
        start = task.asymptotic_start(params)
        est = rates.exponent(icl, ns, start, seed=s)
        out.append(upper_row(task.claim, "exponent", params, est, task.exponent, "sanity", in_n=True))
        if ref is not None:
            est = rates.exponent(units(run, params, ref), ns, start, seed=s + 2)
            out.append(
                upper_row(task.claim, f"exponent, {ref} reference", params, est, task.exponent, "sanity", in_n=True)
            )
        out += bound_checks(task.bounds, params, units(run, params, task.tail), ns, s, task.error_max)
        if run.cfg.eval.finetune_tasks:  # 0: the run has no fine-tuned opponent
            if ref is not None:
                out.append(finetune_noninferiority(run, params, ref, s + 6))
            out.append(finetune_equivalence(run, params, s + 1))
            if task.finetune_reference is not None:
                out.append(finetune_strength(run, params, s + 4))
        out += [ratio_check(run, c, params, s + 3 + j) for j, c in enumerate(task.checks())]
    if ref is not None:
        for axis, est in rates.relative_scaling(sized, ns, seed=seed + 9).items():
            out.append(relative_row(run, f"N* scaling in {axis} relative to {ref}", {}, est, SIZE_TOLERANCE, ref))
    starts = [task.asymptotic_start(p) for p in task.curves]
    for j, (name, label) in enumerate(((task.risk, ""), (ref, f", {ref} reference"))):
        if name is None:
            continue
        est = rates.scaling([(task.size(p), units(run, p, name)) for p in task.curves], ns, starts, seed=seed + 7 + j)
        out.append(upper_row(task.claim, f"scaling in {task.size_name}{label}", {}, est, 1.0, "sanity", in_n=False))
    return out


def ref_units(run: Run, params: dict, ref: str, tasks: int) -> np.ndarray:
    """The reference's per-task risks on the first `tasks` tasks (those ICL's per-task risk was measured on)."""
    return units(run, params, ref)[:, :tasks]


def finetune_noninferiority(run: Run, params: dict, ref: str, seed: int) -> Verdict:
    """ICL not worse than the fine-tuned model by more than NONINFERIORITY times the reference's risk, at every N
    of the fine-tuning grid in the top two octaves [n_max/4, n_max]: the statistic is the largest of
    (ICL - fine-tuned) / reference over those N, each a ratio of mean per-task risks on the same tasks and queries;
    consistent when its 90% interval's high end is below the margin (a one-sided test at 5%), inconsistent when
    the low end is above it."""
    task = run.cfg.task
    ft = units(run, params, records.finetuned(task.risk))
    g = grid(task.n_max)
    cols = [j for j, n in enumerate(g) if n >= rates.top_start(task.n_max)]
    at = [g[j] for j in cols]
    icl = units(run, params, task.risk)[:, : ft.shape[1]][..., at]
    base = units(run, params, ref)[:, : ft.shape[1]][..., at]

    def excess(a: np.ndarray, b: np.ndarray, r: np.ndarray) -> np.ndarray:
        return ((a - b) / np.where(r > 0, r, np.nan)).max(-1)  # nan (no estimate) where the reference's risk is 0

    arrays = [icl, ft[..., cols], base]
    means = [a.mean((0, 1)) for a in arrays]
    detail = {"level": 0.90, "N": at, "reference": ref}
    if not np.all(means[2] > 0):
        zero = [n for n, m in zip(at, means[2], strict=True) if m <= 0]
        est = rates.undefined(f"the reference's mean risk is 0 at N = {zero}")
    else:
        est = rates.bootstrap_means(excess, arrays, seed=seed, resamples=rates.RESAMPLES, paired=True, level=0.90)
        per_n = ((means[0] - means[1]) / means[2]).tolist()
        est = rates.Estimate(est.value, est.ci, detail | {"excess_per_N": per_n})
    verdict = decide_inequality(est, NONINFERIORITY, "<=")
    where = params | {"margin": f"{NONINFERIORITY:g} x {ref}"}
    return _row(
        task.claim,
        "icl-vs-finetune non-inferiority",
        where,
        verdict,
        est,
        f"<= {NONINFERIORITY:g}",
        "falsifiable",
        RULES["noninferiority"],
    )


def finetune_equivalence(run: Run, params: dict, seed: int) -> Verdict:
    """Sanity: ICL minus fine-tuned mean per-task risk at N = n_max on the same tasks and queries, within the
    task's absolute margin (two one-sided tests)."""
    task = run.cfg.task
    ft = units(run, params, records.finetuned(task.risk))
    icl = units(run, params, task.risk)[:, : ft.shape[1], grid(task.n_max)]
    est = rates.difference(icl, ft, -1, seed=seed, level=EQUIVALENCE_LEVEL)
    est = rates.Estimate(
        est.value, est.ci, est.detail | {"icl": float(icl[..., -1].mean()), "finetune": float(ft[..., -1].mean())}
    )
    where = params | {"N": task.n_max, "margin": task.margin}
    verdict = decide_equivalence(est, task.margin)
    return _row(
        task.claim,
        "icl-vs-finetune equivalence",
        where,
        verdict,
        est,
        f"|diff| < {task.margin:g}",
        "sanity",
        RULES["equivalence"],
    )


def finetune_strength(run: Run, params: dict, seed: int) -> Verdict:
    """Sanity: is the fine-tuned opponent at least as good as a classical learner (Task.finetune_reference) at
    N = n_max, within the equivalence margin? Fine-tuned per-task risk minus the classical learner's error (on
    other tasks of the same curve: unpaired)."""
    task = run.cfg.task
    ft = units(run, params, records.finetuned(task.risk))[..., -1:]
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
    windows = records.Errors(errors)
    for j, policy in enumerate(sorted({records.split(k)[1] for k in windows})):
        sized = [(m, windows.method({"m": m}, policy)) for m in ms]
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
    if any(records.split(k)[1] == "retrieval" for k in windows):
        m = max(ms)
        tail = windows.method({"m": m}, "retrieval")
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


def _stored(d: dict) -> rates.Estimate:
    """An Estimate back from its to_dict() form (None: nan)."""
    num = lambda x: np.nan if x is None else float(x)  # noqa: E731
    rest = {k: v for k, v in d.items() if k not in ("estimate", "ci")}
    return rates.Estimate(num(d["estimate"]), (num(d["ci"][0]), num(d["ci"][1])), rest)


def long_context_verdicts(results: dict[str, dict]) -> list[Verdict]:
    """Long context (simulations.longcontext): per task and position scheme, the in-context gain kept at 2T, 4T,
    ... and at the longest prompt (expected >= 1: still improving past the trained length T), and ICL over the
    family's reference on the same prompts at the longest prompt (descriptive: expected near 1).

    Args:
        results: {'<task>/<scheme>': summary} as simulations.longcontext.run returns them.

    Returns:
        Sanity rows, one per run and beyond-length N, and one ratio row per run.
    """
    rows = []
    for name, r in results.items():
        task, scheme = records.split(name)
        T = r["trained"]
        for beyond, stored in r["gain_kept"].items():
            n = int(beyond)
            est = _stored(stored)
            check = f"long context, {task}, {scheme} positions: gain kept at N = {n} ({2 * n + 1} tokens)"
            verdict = decide_inequality(est, 1.0, ">=")
            rows.append(_row(BOUNDED, check, {"T": T, "N": n}, verdict, est, ">= 1", "sanity", RULES["inequality"]))
        est, n = _stored(r["ratio_at_n_max"]), r["n"][-1]
        check = f"long context, {task}, {scheme} positions: ICL / {r['reference_name']} at N = {n}"
        verdict = decide_inequality(est, 1.25, "<=")
        rows.append(_row(BOUNDED, check, {"T": T, "N": n}, verdict, est, "<= 1.25", "sanity", RULES["inequality"]))
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
