"""`iclverify report`: bounds, audit, Monte-Carlo coverage, simulations, rate fits and verdicts in one directory.

DIR/report.md (self-contained: tables, plots, verdicts with intervals, parameters, versions, device, wall time),
DIR/verdicts.json (the verdict rows the report's tables are printed from), PNG plots, and one run directory per
task (DIR/classification, DIR/tokens; finished runs are reused, interrupted ones resume from their checkpoint).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import platform
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
from tqdm.auto import tqdm

import theory
from iclverify import reproductions
from iclverify import verdicts as V
from iclverify.tables import DEFAULTS, bound_row, fmt_n
from simulations import bounded, compiletime, longcontext, plots, rates, tracking
from simulations.config import RunConfig
from simulations.files import write_json, write_npz
from simulations.presets import DIVERSITY, LENGTH, PRESETS
from simulations.records import curve_key
from simulations.run import Run, load_models, load_run, simulate
from simulations.sweep import execute, run_directories
from simulations.tracking import Tracking
from theory.audit import audit
from theory.errors import InputError
from theory.montecarlo import EXPERIMENTS, coverage

TRIALS = {"quick": 20000, "standard": 20000, "full": 20000}  # Monte-Carlo trials per experiment
PACKAGES = ("iclverify", "jax", "equinox", "optax", "numpy", "scipy", "sympy", "hypothesis", "matplotlib")
BOUND_CHECKS = ("holds", "conservativeness")
PLOT_FILES = {  # figures shared by every run; each run adds task_plot_files(kind) and its family's own figures
    "finetune": "icl_vs_finetune.png",
    "window": "window_retrieval.png",
    "length": "length_generalization.png",
    "diversity": "task_diversity.png",
}
WINDOW = {
    "quick": bounded.WindowConfig(V=2),
    "standard": bounded.WindowConfig(V=2),
    "full": bounded.WindowConfig(ms=(1, 2, 4, 8), V=8, data=1024, tasks=1024),
}
FIXED = {"quick": bounded.FixedConfig(), "standard": bounded.FixedConfig(), "full": bounded.FixedConfig(tasks=512)}
# presets whose report trains the length-generalization runs (sanity rows only): the quick report's 10 minutes on a
# 2-core CPU go to the runs that test the paper's claims
LENGTH_IN_REPORT = ("full",)
# presets whose report trains the task-diversity runs (iclverify.reproductions; one per pretraining pool size)
DIVERSITY_IN_REPORT = ("standard",)
LONG_CONTEXT = {"full": "cpu"}  # the long-context experiment's preset (simulations.longcontext) per report preset
LONG_CONTEXT_PLOT = "long_context.png"  # drawn only where the report runs that experiment


def task_plot_files(kind: str) -> dict[str, str]:
    """The report's figures of one run: error vs N with the fit, and N*(eps) against the task's size."""
    return {"error": f"error_vs_n_{kind}.png", "scaling": f"nstar_vs_size_{kind}.png", "ratio": f"ratio_{kind}.png"}


def _ratios(run: Run, ref: str) -> dict[str, dict]:
    """ICL's mean risk over the reference's at every N >= 1 with its interval, per curve (and at half the
    training budget, when measured): what the ratio figure draws."""
    task, out = run.cfg.task, {}
    for i, p in enumerate(task.curves):
        icl = V.units(run, p, task.risk)
        base = V.ref_units(run, p, ref, icl.shape[1])
        ratio, low, high = rates.ratio_curve(icl, base, seed=i)
        half = V.halfway_units(run, p)
        entry = {"n": list(range(1, task.n_max + 1)), "ratio": ratio[1:], "low": low[1:], "high": high[1:]}
        if half is not None:
            entry["halfway"] = (half.mean((0, 1)) / np.maximum(base.mean((0, 1)), rates.TINY))[1:]
        out[curve_key(p)] = entry
    return out


def preset_configs(preset: str, seed: int) -> dict[str, RunConfig]:
    """The simulate presets the report runs, with the report's seed."""
    if preset not in PRESETS:
        raise InputError(f"preset must be one of {sorted(PRESETS)}; got {preset!r}")
    return {kind: dataclasses.replace(cfg, seed=seed) for kind, cfg in PRESETS[preset].items()}


def length_configs(preset: str, seed: int) -> dict[str, RunConfig]:
    """The length-generalization runs (RoPE and learned positions) the report trains; none for a preset not in
    LENGTH_IN_REPORT."""
    if preset not in LENGTH_IN_REPORT:
        return {}
    return {pos: dataclasses.replace(cfg, seed=seed) for pos, cfg in LENGTH[preset].items()}


def diversity_configs(preset: str, seed: int) -> dict[int, RunConfig]:
    """The task-diversity runs the report trains, by pretraining pool size; none for a preset not in
    DIVERSITY_IN_REPORT."""
    if preset not in DIVERSITY_IN_REPORT:
        return {}
    return {cfg.task.pool: dataclasses.replace(cfg, seed=seed) for cfg in DIVERSITY[preset].values()}


def report(
    out: Path | str,
    preset: str = "quick",
    *,
    seed: int = 0,
    progress: bool = True,
    address: str | None = None,
    track: Tracking | None = None,
) -> list[V.Verdict]:
    """Run everything into `out` and write report.md and verdicts.json; return the verdict rows.

    Trains (or reuses) one run per task family of the preset (and, in `full`, the length-generalization runs; in
    `standard`, one task-diversity run per pool size), reads the field's known results from them,
    evaluates them, runs the bounded-context experiments and the Monte-Carlo coverage checks, fits every rate and
    writes the report with its figures. Every run directory under `out` is reused when it holds the same config, and
    resumes from its last checkpoint when it was interrupted.

    Args:
        out: the report directory (created if missing): report.md, verdicts.json, the figures and one run
            directory per simulation.
        preset: `quick` (a 2-core CPU, about 10 minutes), `standard` (the decisive CPU preset, within an hour
            on 2 cores) or `full` (one GPU per run).
        seed: the seed of every run, experiment and bootstrap; the same seed gives byte-identical verdicts.
        progress: show progress bars (only where a terminal is attached).
        address: a Ray cluster (`auto` or HOST:PORT) on which the simulations run as Ray tasks
            (simulations.sweep.execute); None runs them in threads of this process (PARALLEL).
        track: track every simulation (simulations.tracking), and the report itself as one more tracked run
            (job type 'report': its verdict rows and figures); None tracks nothing.

    Returns:
        Every verdict row, in the report's order (also written to verdicts.json with `Verdict.to_dict`).

    Raises:
        InputError: an unknown preset.
        RuntimeError: with `address`, a simulation that failed on the cluster (named, with its error).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    configs = preset_configs(preset, seed)
    clock = Clock()
    timed = clock.timed
    start = time.perf_counter()

    say = tqdm.write if progress else (lambda *_: None)
    say("bounds and audit")
    bounds = timed("bounds and audit", lambda: [bound_row(b, DEFAULTS) for b in theory.catalogue()])
    audited = audit(**DEFAULTS)
    side = {f"length-{pos}": cfg for pos, cfg in length_configs(preset, seed).items()}
    side |= {f"diversity-{pool}": cfg for pool, cfg in diversity_configs(preset, seed).items()}
    wc, fc = WINDOW[preset], FIXED[preset]

    def beside(done: Callable[[str], Run]) -> tuple:  # this thread's work while the simulations compute
        say("Monte-Carlo coverage")
        cov = timed("Monte-Carlo coverage", lambda: _coverage(TRIALS[preset], seed, progress))
        return cov, *_bounded(done, wc, fc, timed, say)

    jobs = {name: (cfg, out / name) for name, cfg in (configs | side).items()}
    finished, (cov, window, fixed) = _simulations(jobs, address, track, clock, say, PARALLEL[preset], beside)
    runs, side_runs = {name: finished[name] for name in configs}, {name: finished[name] for name in side}
    lengths = {name.removeprefix("length-"): run for name, run in side_runs.items() if name.startswith("length-")}
    pools = {run.cfg.task.pool: run for name, run in side_runs.items() if name.startswith("diversity-")}
    known = _reproductions(runs, pools, out)
    long_context = {}
    if preset in LONG_CONTEXT:  # trained on short prompts, evaluated to 2047 tokens (simulations.longcontext)
        say("long context: encoders evaluated to 2047 tokens")
        cfg = LONG_CONTEXT[preset]
        long_context = timed(
            "long context", lambda: longcontext.run(out / "long-context", cfg, seed=seed, progress=progress, say=say)
        )
    write_npz(out / "bounded.npz", window | {f"fixed/{k}": v for k, v in fixed.items()})
    say("rates and verdicts")
    rows = timed("rates and verdicts", lambda: _verdicts(runs, window, wc, fixed, lengths, cov, seed))
    rows += V.long_context_verdicts(long_context)
    figures = timed("plots", lambda: _plots(runs, rows, out, window, wc, lengths, long_context))
    clock.wall["total"] = time.perf_counter() - start
    data = ReportData(
        preset, seed, configs, runs, rows, bounds, audited, clock.wall, clock.compiling, lengths, wc, fc, figures,
        long_context, known, pools,
    )  # fmt: skip
    _write(data, out, track)
    say(f"wrote {out / 'report.md'} and {out / 'verdicts.json'}: " + _summary_text(rows))
    return rows


def _write(data: ReportData, out: Path, track: Tracking | None) -> None:
    """verdicts.json and report.md; the report as one tracked run."""
    write_json(out / "verdicts.json", [r.to_dict() for r in data.rows])
    (out / "report.md").write_text(_markdown(data))
    tracked = {**data.runs, **data.lengths, **{f"diversity-{m}": run for m, run in data.pools.items()}}
    _track_report(track, out, data.preset, data.seed, tracked, data.rows)


def _track_report(track: Tracking | None, out: Path, preset: str, seed: int, runs: dict[str, Run], rows) -> None:
    """The report as one tracked run: its id from the preset, the seed and its runs' config hashes (the same report
    continues the same tracked run), its verdict rows and figures."""
    hashes = {str(name): run.cfg.hash for name, run in runs.items()}
    digest = hashlib.sha256(json.dumps([preset, seed, hashes], sort_keys=True).encode()).hexdigest()[:12]
    config = {"preset": preset, "seed": seed, "runs": hashes}
    name = f"report {preset} {digest}"
    with tracking.start(track, f"report-{digest}", config, out, name=name, job_type="report") as t:
        summary = [{"verdict": k, "rows": v} for k, v in Counter(r.verdict for r in rows).items()]
        t.images(sorted(out.glob("*.png")))  # W&B's next step each: a rerun's report appends to it
        t.rows("verdicts", [r.to_dict() for r in rows])
        t.rows("summary", summary)


def verdict_tables(path: Path) -> dict[str, list[dict]]:
    """A finished run's verdict rows (what `iclverify rates DIR` prints) as a tracked table (Tracking.tables)."""
    return {"verdicts": [r.to_dict() for r in verdicts_for([path])]}


def _simulations(
    jobs: dict[str, tuple[RunConfig, Path]],
    address: str | None,
    track: Tracking | None,
    clock: Clock,
    say: Callable,
    parallel: int,
    beside: Callable[[Callable[[str], Run]], object],
) -> tuple[dict[str, Run], object]:
    """Train and evaluate (or reuse) every run (by directory name) and run `beside(done)`, where `done(name)` waits
    for a run and loads it; the finished runs and what `beside` returned. In this process the runs go `parallel` at a
    time in threads while this thread runs `beside`, so that the stages that need one run or none (coverage, bounded
    context) start as soon as they can instead of after the slowest simulation; a failure or an interrupt cancels the
    runs not yet started. On a Ray cluster (`address`), which reports when every run is done, `beside` runs after."""
    @functools.cache  # the bounded-context stages and the report read the same runs: each is loaded once
    def loaded(name: str) -> Run:
        return load_run(jobs[name][1])

    if address is not None:  # Ray's driver stays in the main thread (its signal handlers, Ctrl-C)
        clock.timed(f"simulations (Ray at {address})", lambda: _simulate_on_ray(jobs, address, say, track))
        return {name: loaded(name) for name in jobs}, beside(loaded)
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        futures = _start_all(jobs, pool, clock, say, track)

        def done(name: str) -> Run:
            futures[name].result()  # re-raises the run's failure
            return loaded(name)

        try:
            result = beside(done)
            runs = {name: done(name) for name in jobs}
        except BaseException:
            for future in futures.values():
                future.cancel()  # those not yet started; a running one goes on to its end (a rerun reuses it)
            raise
        clock.wall[f"simulations ({parallel} at a time) and the stages beside them"] = time.perf_counter() - start
    return runs, result


def _reproductions(runs: dict[str, Run], pools: dict[int, Run], out: Path) -> dict[str, list[dict]]:
    """The field's known results read from the runs (iclverify.reproductions), also written to
    reproductions.json: ridge tracking from the regression run, the task-diversity transition from the pool runs."""
    known = {
        "ridge_tracking": reproductions.ridge_tracking(runs["regression"]) if "regression" in runs else [],
        "task_diversity": reproductions.task_diversity(pools) if pools else [],
    }
    if known["task_diversity"]:
        plots.task_diversity(known["task_diversity"], out / PLOT_FILES["diversity"])
    write_json(out / "reproductions.json", known)
    return known


# simulations run at a time in this process: the quick report's three at once on a 2-core CPU (one run's compiling
# and small kernels overlap the others' arithmetic, and no run is left alone at the end; docs/performance.md, "The
# quick report"); the full presets, each sized for one accelerator, two
PARALLEL = {"quick": 3, "standard": 3, "full": 2}


@dataclass
class Clock:
    """Wall seconds per stage and, of them, the seconds the stage's own thread spent compiling (compiletime)."""

    wall: dict[str, float] = dataclasses.field(default_factory=dict)
    compiling: dict[str, float] = dataclasses.field(default_factory=dict)

    def timed(self, stage: str, fn: Callable):
        """fn()'s result, its seconds recorded under `stage`."""
        t0, c0 = time.perf_counter(), compiletime.seconds()
        result = fn()
        self.wall[stage], self.compiling[stage] = time.perf_counter() - t0, compiletime.seconds() - c0
        return result


def _start_all(
    jobs: dict[str, tuple[RunConfig, Path]],
    pool: ThreadPoolExecutor,
    clock: Clock,
    say: Callable,
    track: Tracking | None,
) -> dict[str, Future]:
    """Every simulation submitted to `pool` (threads: JAX releases the GIL while it computes, so one run's
    compilation and Python work overlap the others' arithmetic); its future, by name. A run's numbers do not depend
    on what runs beside it (its metrics are byte-identical either way)."""

    def one(name: str) -> None:
        cfg, path = jobs[name]
        stage = f"simulation: {name}"
        say(f"{stage} (run {cfg.hash}): started")
        clock.timed(stage, lambda: simulate(cfg, path, progress=False, track=track))
        say(f"{stage}: done in {clock.wall[stage]:.0f} s ({clock.compiling[stage]:.0f} s compiling)")

    return {name: pool.submit(one, name) for name in jobs}


def _simulate_on_ray(
    jobs: dict[str, tuple[RunConfig, Path]], address: str, say: Callable, track: Tracking | None = None
) -> None:
    """Every simulation as a Ray task on the cluster at `address`; a run that failed stops the report."""
    outcomes = execute(jobs, "ray", address=address, say=say, track=track)
    failed = {name: o.error for name, o in outcomes.items() if o.error}
    if failed:
        name, why = next(iter(failed.items()))
        raise RuntimeError(f"{len(failed)} simulation(s) failed on Ray, first {name}: {why}")


def _coverage(trials: int, seed: int, progress: bool) -> list[dict]:
    return [
        coverage(e, trials=trials, seed=seed)
        for e in tqdm(EXPERIMENTS, desc="coverage", disable=None if progress else True, leave=False)
    ]


def _bounded(
    done: Callable[[str], Run], wc: bounded.WindowConfig, fc: bounded.FixedConfig, timed: Callable, say: Callable
) -> tuple[dict, dict]:
    """The bounded-context experiments, each as soon as the run it reads is done: the retrieval windows read the
    tokens run, the fixed context the classification run."""
    tok = done("tokens")
    say("bounded context: retrieval windows")
    window = timed("bounded context: windows", lambda: bounded.window_errors(tok.cfg, load_models(tok), wc))
    cls = done("classification")
    say("bounded context: a fixed context")
    return window, timed("bounded context: fixed", lambda: bounded.fixed_context(cls.cfg, load_models(cls), fc))


def _verdicts(runs, window, wc, fixed, lengths, cov, seed: int) -> list[V.Verdict]:
    """Every verdict row, in report order: rates and bounds per run, bounded context, Monte-Carlo coverage."""
    rows = [r for run in runs.values() for r in V.run_verdicts(run, seed=seed)]
    rows += V.window_verdicts(window, wc.ms, wc.V, seed=seed)
    rows += V.fixed_context_verdicts(fixed) + V.length_verdicts(lengths, seed=seed)
    return rows + V.coverage_verdicts(cov)


def verdicts_for(paths: list[Path | str], seed: int = 0) -> list[V.Verdict]:
    """Verdict rows for finished run directories (what `iclverify rates` prints).

    Args:
        paths: run directories written by `simulate` (or `iclverify simulate`), or sweep directories (one
            standing for each of its finished runs).
        seed: the seed of the bootstrap intervals.

    Returns:
        The rows of `iclverify.verdicts.run_verdicts` for each run, each with `detail["run"]`, its directory.

    Raises:
        InputError: a path that is neither a finished run directory nor a sweep directory.
    """
    rows = []
    for p in [run for path in paths for run in run_directories(path)]:
        rows += [r.with_detail(run=str(p)) for r in V.run_verdicts(load_run(p), seed=seed)]
    return rows


def _bound_curve(bound_id: str, params: dict, n_max: int) -> tuple[str, np.ndarray, np.ndarray]:
    """The bound's eps as a function of N (from n(eps) on a grid of eps; exact, no inversion needed)."""
    bound = theory.get(bound_id)
    eps = np.geomspace(1e-3, min(bound.eps_max, 1.0) * (1 - 1e-9), 400)
    n = np.asarray(bound.n(eps=eps, delta=V.DELTA, **params), dtype=float)
    keep = n <= n_max * 1.1
    consts = ", ".join(f"{c.name}={v:g}" for c, v in bound.constants.items())
    return f"{bound_id} ({consts}, delta={V.DELTA:g})".replace(" (, ", " ("), n[keep], eps[keep]


def _plots(
    runs: dict[str, Run],
    rows: list[V.Verdict],
    out: Path,
    window: dict,
    wc: bounded.WindowConfig,
    lengths: dict[str, Run],
    long_context: dict,
) -> dict[str, list[tuple[str, str]]]:
    """Every figure; returns each run's own figures (caption, file name), drawn by its task family."""
    extra = {}
    for kind, run in runs.items():
        task, files = run.cfg.task, task_plot_files(kind)
        fits = {
            curve_key(r.params): r.to_dict()
            for r in rows
            if r.check == "exponent" and r.claim == task.claim and r.detail.get("n_range")
        }
        curves = (
            {curve_key(p): _bound_curve(task.claim, p, task.n_max) for p in task.curves}
            if task.claim in task.bounds
            else {}
        )
        plots.rates_panel(run.metrics, task.risk, fits, curves, out / files["error"], tuple(task.references))
        ref = V.reference(run, task.curves)
        if ref is not None:
            title = f"{kind}: ICL relative to {ref} (1 = the reference)"
            checked = (rates.top_start(task.n_max), task.n_max)
            plots.ratio_panel(_ratios(run, ref), ref, title, out / files["ratio"], checked)
        scaling = next(r for r in rows if r.claim == task.claim and r.check == f"scaling in {task.size_name}")
        title = f"{kind}: N*(eps) vs {task.size_name}"
        plots.n_star_vs_size(scaling.to_dict(), task.size_name, title, out / files["scaling"])
        extra[kind] = task.figures(run.metrics, out, f"{kind}_")
    plots.icl_vs_finetune([r.metrics for r in runs.values()], out / PLOT_FILES["finetune"])
    scalings = {r.params["policy"]: r.to_dict() for r in rows if r.check.startswith("window scaling")}
    plots.window(window, wc.ms, scalings, out / PLOT_FILES["window"])
    if lengths:
        lengths_drawn = {pos: (run.metrics, run.cfg.task.train_n_max) for pos, run in lengths.items()}
        plots.length(lengths_drawn, out / PLOT_FILES["length"])
    if long_context:
        plots.long_context(long_context, out / LONG_CONTEXT_PLOT)
    return extra


# ---- markdown ------------------------------------------------------------------------------------------------


def fmt(x: float | None) -> str:
    """How every estimate is printed, in report.md and by `iclverify rates`."""
    if x is None:
        return "unbounded"
    return f"{x:.4g}"


def fmt_estimate(row: V.Verdict) -> str:
    if row.estimate is None:
        return "n/a"
    lo, hi = row.interval
    level = f" ({row.detail['level']:.0%} CI)" if row.detail.get("level") else ""
    per_seed = row.detail.get("per_seed")
    seeds = f"; per seed {', '.join(fmt(b) for b in per_seed)}" if per_seed else ""
    return f"{fmt(row.estimate)} [{fmt(lo)}, {fmt(hi)}]{level}{seeds}"


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _expected(row: V.Verdict) -> str:
    e = row.expected
    return "-" if e is None else (f"{e:g}" if isinstance(e, float) else str(e))


def row_note(r: V.Verdict) -> str:
    """What a row's estimate alone does not say: why it is undefined or inconclusive, how much a relative rate fell
    from half to full training, ICL over the reference at n_max."""
    note = f" ({r.detail['reason']})" if r.detail.get("reason") else ""
    gain = r.detail.get("improvement")
    if gain and gain.get("estimate") is not None:
        lo, hi = gain["ci"]
        note += f"; q at half the budget minus q {fmt(gain['estimate'])} [{fmt(lo)}, {fmt(hi)}]"
    if r.detail.get("ratio") is not None and "tolerance" in r.detail:
        note += f"; ICL / reference at n_max {r.detail['ratio']:.3g}"
    if r.detail.get("gate_unknown") and not r.detail.get("why"):
        note += f"; no training-budget gate ({r.detail['gate_unknown']})"
    if r.detail.get("why") and r.detail["why"] != r.detail.get("reason"):
        note += f" ({r.detail['why']})"
    return note


def verdict_table(rows: list[V.Verdict]) -> list[str]:
    lines = ["| claim | check | parameters | estimate [95% CI] | claimed | verdict |", "|---|---|---|---|---|---|"]
    for r in rows:
        note = row_note(r)
        lines.append(
            f"| `{r.claim}` | {r.check} | {_params_text(r.params)} | {fmt_estimate(r)}{note} | "
            f"{_expected(r)} | **{r.verdict}** |"
        )
    return lines


def _summary_text(rows: list[V.Verdict]) -> str:
    falsifiable = ", ".join(f"{k} {v}" for k, v in V.summary(rows).items())
    sanity = ", ".join(f"{k} {v}" for k, v in V.summary(rows, "sanity").items())
    return f"falsifiable checks: {falsifiable} (sanity rows, not counted: {sanity})"


def _n_star_table(run: Run) -> list[str]:
    task = run.cfg.task
    ns = np.arange(run.cfg.task.n_max + 1)
    head = " | ".join(f"{e:g}" for e in V.EPS_GRID)
    lines = [
        f"| curve | N* of | {head} |",
        "|---|---|" + "---|" * len(V.EPS_GRID),
    ]
    for p in run.cfg.task.curves:
        for label, name, level in (
            ("mean", task.risk, None),
            (f"{1 - V.DELTA:g}-quantile", task.tail, 1 - V.DELTA),
        ):
            u = V.units(run, p, name)
            curve = u.mean((0, 1)) if level is None else rates.quantile(u, level)
            cells = [rates.n_star(curve, ns, e) for e in V.EPS_GRID]
            text = " | ".join(f"{int(c)}" if np.isfinite(c) else f">{ns[-1]}" for c in cells)
            lines.append(f"| {_params_text(p)} | {label} {name} | {text} |")
    return lines


def _versions() -> list[str]:
    out = [f"python {platform.python_version()} ({platform.platform()})"]
    for pkg in PACKAGES:
        try:
            out.append(f"{pkg} {importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{pkg} (not installed)")
    return out


def section(row: V.Verdict) -> str:
    """Which table of the report a verdict row belongs to: rates, bounds, context, coverage, or sanity (every
    descriptive row, shown apart and never counted)."""
    if row.check.startswith("coverage"):
        return "coverage"
    if row.kind == "sanity":
        return "sanity"
    if row.claim == V.BOUNDED or row.check.startswith("fixed-context"):
        return "context"
    return "bounds" if row.check in BOUND_CHECKS else "rates"


@dataclass(frozen=True)
class ReportData:
    """Everything report.md is written from: the settings of the call and what it computed."""

    preset: str
    seed: int
    configs: dict[str, RunConfig]
    runs: dict[str, Run]
    rows: list[V.Verdict]
    bounds: list[dict]
    audited: list[dict]
    wall: dict[str, float]
    compiling: dict[str, float]
    lengths: dict[str, Run]
    window: bounded.WindowConfig
    fixed: bounded.FixedConfig
    figures: dict[str, list[tuple[str, str]]]
    long_context: dict = dataclasses.field(default_factory=dict)
    known: dict[str, list[dict]] = dataclasses.field(default_factory=dict)  # iclverify.reproductions' tables
    pools: dict[int, Run] = dataclasses.field(default_factory=dict)  # the task-diversity runs, by pool size


def _markdown(r: ReportData) -> str:
    """report.md: one function per section, in order."""
    sections = (_head, _verdict_sections, _run_sections, _known_results, _finetune_and_context, _sanity)
    sections += (_coverage_section,)
    sections += (_bounds_and_audit, _parameters, _closing)
    return "\n".join(line for write in sections for line in write(r))


def _claim_sentence(run: Run, rows: list[V.Verdict]) -> str:
    """One sentence for a family's claim, from its rows: what was tested against which reference over which N and
    sizes, the verdicts, and what limits them (range, training budget, power, the reference)."""
    task = run.cfg.task
    mine = [r for r in rows if r.claim == task.claim and r.detail.get("run", str(run.path)) == str(run.path)]
    rel = [r for r in mine if r.check.startswith("rate relative to")]
    size = [r for r in mine if r.check.startswith("N* scaling in") and "relative to" in r.check]
    if not rel:
        return f"- **`{task.claim}`** ({task.kind}): no reference learner was measured, so no rate was tested."
    ref = rel[0].detail.get("reference")
    lo, hi = rates.top_start(task.n_max), task.n_max
    sizes = ", ".join(curve_key(p) for p in task.curves)

    def count(group: list[V.Verdict]) -> str:
        tally = {v: sum(r.verdict == v for r in group) for v in V.VERDICTS}
        return ", ".join(f"{n} {v}" for v, n in tally.items() if n) or "none"

    ratios = [r.detail.get("ratio") for r in rel if r.detail.get("ratio") is not None]
    limits = [f"the range N in [{lo}, {hi}] (two octaves)"]

    def why(start: str, group: list[V.Verdict] = rel + size) -> int:  # rows inconclusive for that reason
        return sum(str(r.detail.get("why", "")).startswith(start) for r in group)

    short = why(V.RANGE_TOO_SHORT, rel)
    if short:
        limits.append(f"the window ({short} curve(s) too close to N ~ size to tell slow from offset learners)")
    budget, unknown = why(V.STILL_IMPROVING), why(V.BUDGET_UNKNOWN)
    said = [f"{budget} row(s) still improving between half and full budget"] if budget else []
    said += [f"{unknown} row(s) whose halfway curve was not resolved"] if unknown else []
    if said:
        limits.append(f"the training budget ({'; '.join(said)})")
    weak = why(V.UNDERPOWERED)
    if weak:
        limits.append(f"power ({weak} row(s) underpowered at these sizes by the calibration, not verdicts)")
    wide = [r for r in rel + size if r.detail.get("why") == V.TOO_WIDE]
    if wide:
        limits.append(f"power ({len(wide)} interval(s) contain the tolerance)")
    converged = sum(x <= V.CONVERGED for x in ratios)  # of the curves with a ratio; those without are counted apart
    if converged < len(ratios):
        limits.append(
            f"convergence ({len(ratios) - converged} of {len(ratios)} curve(s) not within {V.CONVERGED:g}x the "
            "reference at n_max)"
        )
    if len(ratios) < len(rel):
        limits.append(f"estimates ({len(rel) - len(ratios)} curve(s) without one)")
    if rel[0].kind == "sanity":
        limits.append(f"the reference: {ref} has no proved rate, so these rows are descriptive")
    ratio_text = ""
    if ratios:
        ratio_text = (
            f"; ICL / {ref} at n_max: {min(ratios):.2f}-{max(ratios):.2f} (converged, within {V.CONVERGED:g}x: "
            f"{converged} of {len(ratios)} curves)"
        )
    return (
        f"- **`{task.claim}`** ({task.kind}, {sizes}): ICL's rate in N relative to `{ref}` on the same tasks "
        f"(cost exponent q, tolerance {V.TOLERANCE:g}): {count(rel)}; its N* scaling in the size relative to the "
        f"reference: {count(size)}{ratio_text}. Limited by: {'; '.join(limits)}."
    )


def _headline(r: ReportData) -> list[str]:
    lines = ["## Headline", ""]
    lines += [_claim_sentence(run, r.rows) for run in r.runs.values()]
    window = [row for row in r.rows if row.check.startswith("window scaling") and row.kind == "falsifiable"]
    for row in window:
        lines.append(
            f"- **`{row.claim}`** (retrieval windows, m in {list(r.window.ms)}, V = {r.window.V}): the window needed "
            f"does not grow with m -- **{row.verdict}** (exponent {fmt_estimate(row)}, claimed <= 0)."
        )
    lines += [
        f"- **`{V.FIXED}`**: a Hoeffding statement about one fixed predictor with an unspecified constant; checked "
        "as a sanity row only (it is not a learning bound).",
        "",
    ]
    return lines


def _head(r: ReportData) -> list[str]:
    return [
        "# iclverify report",
        "",
        f"Preset `{r.preset}`, seed {r.seed}. Device: {jax.devices()[0].device_kind} ({jax.default_backend()}). "
        f"Wall time of this call: {r.wall['total'] / 60:.1f} min (finished simulations are reused, so a rerun is "
        "faster).",
        "",
        "Claims are the abstract's bounds in the catalogue (`iclverify bounds`); every verdict is "
        "`consistent`, `inconsistent` or `inconclusive` by the rule in the last section, fixed before the data. "
        f"Summary: {_summary_text(r.rows)}.",
        "",
        *_headline(r),
    ]


def _verdict_sections(r: ReportData) -> list[str]:
    return [
        "## Verdicts: the paper's rates",
        "",
        "Falsifiable checks only (sanity rows are listed apart, below). Each rate is tested against a reference "
        "learner whose rate is proved, on the same tasks, queries and N: q is the exponent in N of ICL's sample cost "
        "over the reference's on the top two octaves of N (0: a constant factor more examples; 1/2: half an order "
        "slower), and the size rows the exponent of N*_ICL / N*_reference in each size; `claimed` is the tolerance. "
        "A row that would be inconsistent but whose q was still falling between half and full training budget, or "
        "whose window cannot tell it from a rate-optimal learner with an offset, is inconclusive (`why`). How often "
        f"these rules come out right at this preset's sizes: `iclverify calibrate --preset {r.preset}` (the table is "
        "in docs/verdicts.md).",
        "",
        *verdict_table([row for row in r.rows if section(row) == "rates"]),
        "",
        "## Verdicts: each upper bound at its own N",
        "",
        f"Each bound is read at the eps whose N is n_max (the most demanding eps the measured range can test, never "
        f"an extrapolation): the measured {1 - V.DELTA:g}-quantile of per-task risk at `n_bound` = ceil(n(eps)) must "
        "be <= eps. Rows of bounds with an unspecified constant (the paper's C, c_H, c_2; `explicit: false` in "
        "verdicts.json) or vacuous at n_max are sanity rows, listed at the end: an O(.) claim makes no quantitative "
        "promise at C = 1.",
        "",
        *verdict_table([row for row in r.rows if section(row) == "bounds"]),
        "",
    ]


def _run_sections(r: ReportData) -> list[str]:
    md = []
    for kind, run in r.runs.items():
        task, files = run.cfg.task, task_plot_files(kind)
        md += [
            f"## {kind.capitalize()}: the rate of `{task.claim}`",
            "",
            f"Run `{run.cfg.hash}` (`{run.path.name}/`). Per-task risk of the in-context predictor "
            f"({task.risk_text}) "
            f"on {run.cfg.eval.risk_tasks} held-out tasks x {run.cfg.train.seeds} seeds; theory expects mean risk "
            f"~ N^{task.exponent:g} and N*(eps) linear in {task.size_name}.",
            "",
            f"![error vs N]({files['error']})",
            "",
            *([f"![ICL relative to the reference]({files['ratio']})", ""] if V.reference(run, task.curves) else []),
            f"![N* vs {task.size_name}]({files['scaling']})",
            "",
            *[line for caption, name in r.figures.get(kind, []) for line in (f"![{caption}]({name})", "")],
            f"N*(eps): the smallest N whose mean (or {1 - V.DELTA:g}-quantile) per-task risk is <= eps.",
            "",
            *_n_star_table(run),
            "",
        ]
    return md


def _known_results(r: ReportData) -> list[str]:
    """The field's known results reproduced on these runs (iclverify.reproductions), where the preset has them."""
    tracking, diversity = r.known.get("ridge_tracking", []), r.known.get("task_diversity", [])
    if not tracking and not diversity:
        return []
    md = [
        "## Known results reproduced",
        "",
        "Before it tests the paper, the simulator should reproduce what the field already found with the same "
        "models; these are descriptive (no verdict rows).",
        "",
        *reproductions.markdown(tracking, diversity),
    ]
    if diversity:
        first = next(iter(r.pools.values()))
        md += [
            f"Pool runs: d = {first.cfg.task.dims[0]}, N <= {first.cfg.task.n_max}, {first.cfg.train.steps} steps "
            f"of {first.cfg.train.batch} prompts, {first.cfg.train.seeds} seed(s), {first.cfg.eval.tasks} fresh "
            f"tasks each (`diversity-<M>/`).",
            "",
            f"![task diversity]({PLOT_FILES['diversity']})",
            "",
        ]
    return md


def _finetune_and_context(r: ReportData) -> list[str]:
    wc, fc, cls = r.window, r.fixed, r.configs["classification"]
    return [
        "## In-context vs fine-tuned",
        "",
        "The base model fine-tuned on the same N examples (Adam on query-only prompts) against the in-context "
        "prediction, in each task's distance (disagreement rate, TV, squared difference), on the first "
        f"{next(iter(r.runs.values())).cfg.eval.finetune_tasks} evaluation tasks. The `icl-vs-finetune` rows above "
        "test equivalence: ICL's mean error minus the fine-tuned model's at n_max, on the same tasks and queries, "
        "within each task's margin (two one-sided tests, 90% interval).",
        "",
        f"![ICL vs fine-tuned]({PLOT_FILES['finetune']})",
        "",
        "## Bounded context, retrieval and length generalization",
        "",
        f"**Window and retrieval** (`{V.BOUNDED}`). Tokens tasks with m in {list(wc.ms)} contexts over V = {wc.V} "
        f"tokens and a dataset of {wc.data} examples per task, cut to a window of k examples by random selection or "
        "by retrieval (the examples of the query's context first); the report's tokens model is asked the query's "
        f"context after every window k (TV to the true law, {wc.tasks} tasks x seeds). The reading predicts that the "
        "window needed grows like m without retrieval and does not grow with retrieval.",
        "",
        f"![window and retrieval]({PLOT_FILES['window']})",
        "",
        f"**Fixed context** (`{V.FIXED}`, read as Hoeffding for one fixed predictor). The first {cls.task.n_max} "
        f"examples of a task (d = {max(cls.task.dims)}) fix one in-context predictor; its error on n held-out "
        f"examples against its true error (estimated on {fc.truth} further queries), over {fc.tasks} tasks x seeds; "
        "a failure is a gap >= eps.",
        "",
        *_length_lines(r.lengths),
        *_long_context_lines(r.long_context),
        *verdict_table([row for row in r.rows if section(row) == "context"]),
        "",
    ]


def _length_lines(lengths: dict[str, Run]) -> list[str]:
    """The length-generalization paragraph and figure, or where the report does not train those runs."""
    if not lengths:
        return [
            "**Length generalization** is trained by `report --full` only (sanity rows; a CPU report's budget "
            "goes to the runs that test the claims); `iclverify long-context --preset cpu` measures it for "
            "encoders on a CPU.",
            "",
        ]
    return [
        "**Length generalization.** Tokens models (m = 2, V = 4) trained on prompts of T examples, evaluated up to "
        "4T, with RoPE or learned positions (the learned table beyond T is never trained); the in-context gain at 2T "
        "and 4T as a fraction of the gain at T.",
        "",
        f"![length generalization]({PLOT_FILES['length']})",
        "",
    ]


def _long_context_lines(results: dict) -> list[str]:
    """The long-context experiment's paragraph and figure (report --full), or nothing."""
    if not results:
        return []
    first = next(iter(results.values()))
    T, n = first["trained"], first["n"][-1]
    return [
        f"**Long context** (`iclverify long-context`). Bidirectional encoders with rotary and with no positions, "
        f"trained on prompts of T = {T} examples ({2 * T + 1} tokens; see the figure for each task's T) and "
        f"evaluated out to {n} examples "
        f"({2 * n + 1} tokens): next-token laws (order carries nothing) and regression with each label in a token "
        "of its own (bound to its input by position), beside each family's reference on the same prompts. Learned "
        "positions are not run: a table trained on 2T + 1 rows has no trained row past them. The rows below give "
        "the in-context gain kept at 2T, 4T, ... (sanity).",
        "",
        f"![long context]({LONG_CONTEXT_PLOT})",
        "",
    ]


def _sanity(r: ReportData) -> list[str]:
    return [
        "## Sanity and descriptive rows (not counted)",
        "",
        "Fits of the reference learners (whether the N range reached the asymptotic regime), bounds with "
        "unspecified constants, how conservative each bound is, theorems re-checked on the model, and the model's "
        "length generalization. They describe the experiment; none is evidence for or against a claim.",
        "",
        *verdict_table([row for row in r.rows if section(row) == "sanity"]),
        "",
    ]


def _coverage_section(r: ReportData) -> list[str]:
    md = [
        "## Monte-Carlo coverage of the concentration bounds",
        "",
        f"{TRIALS[r.preset]} trials per experiment at the bound's n; failure rate must be compatible with <= delta "
        "(exact one-sided binomial test, alpha 0.01); n_emp/n is how conservative the bound is.",
        "",
        "| bound | experiment | n | failure rate [95% CI] | delta | n_emp / n | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r.rows:
        if "n_empirical_over_bound" not in row.detail:  # a coverage row carries its experiment's n and n_emp / n
            continue
        ratio, d = row.detail["n_empirical_over_bound"], row.detail
        md.append(
            f"| `{row.claim}` | {d['experiment']} | {d['n']} | {fmt_estimate(row)} | {row.params['delta']:g} "
            f"| {'-' if ratio is None else f'{ratio:.3f}'} | **{row.verdict}** |"
        )
    return [*md, ""]


def _bounds_and_audit(r: ReportData) -> list[str]:
    md = [
        "## Bounds at " + _params_text(DEFAULTS),
        "",
        "| id | kind | n | order | source |",
        "|---|---|---|---|---|",
    ]
    for b in r.bounds:
        star = "*" if b["n"] is not None and "note" in b else ""
        md.append(f"| `{b['id']}` | {b['kind']} | {fmt_n(b['n'])}{star} | {b['order']} | {b['citation']} |")
    md += ["", "\\* unspecified constant set to 1 (order of magnitude only).", "", "## Audit of the paper's bounds", ""]
    for e in r.audited:
        refs = "; ".join(
            f"vs `{ref['id']}` ({ref['role']}): " + ("n/a" if ref["ratio"] is None else f"{ref['ratio']:.4g}")
            for ref in e["references"]
        )
        md.append(f"- `{e['id']}` (n = {fmt_n(e['n'])}, C = 1): paper / reference n = {refs}.")
        md += [f"  - {flag}" for flag in e["flags"]]
    return md


def _parameters(r: ReportData) -> list[str]:
    md = ["", "## Parameters", ""]
    for run in [*r.runs.values(), *r.lengths.values(), *r.pools.values()]:
        cfg, timing = run.cfg, run.timing
        md += [
            f"- {run.path.name}: run `{cfg.hash}`, training {_seconds(timing, 'train')}, evaluation "
            f"{_seconds(timing, 'evaluate')} (when last computed)",
            "",
            "  ```json",
            "  " + json.dumps(cfg.to_dict(), sort_keys=True),
            "  ```",
        ]
    return md


def _compiling(seconds: float | None) -> str:
    return "" if not seconds else f" ({seconds:.1f} s compiling)"


def _seconds(timing: dict, stage: str) -> str:
    """'196 s (12 s compiling)': a stage's wall time from a run's timing.json, with its compiling share."""
    text = f"{timing.get(f'{stage}_s', float('nan')):.0f} s"
    compiling = timing.get(f"{stage}_compile_s")
    return text if compiling is None else f"{text} ({compiling:.0f} s compiling)"


def _closing(r: ReportData) -> list[str]:
    return [
        "",
        f"Verdict constants: delta = {V.DELTA:g}; relative rates on the top {rates.OCTAVES} octaves of N "
        f"({rates.PER_OCTAVE} points per octave), tolerance {V.TOLERANCE:g} on q and {V.SIZE_TOLERANCE:g} on the size "
        f"exponents, offset learner (s/(N + {rates.OFFSET}s))^|claimed|; descriptive exponent fits from 2d "
        "(classification, regression) or m V (tokens) to n_max; every fit point resolved at "
        f">= {rates.RESOLVED:g} standard errors; {rates.RESAMPLES} two-stage bootstrap resamples (seeds and tasks); "
        f"non-inferiority margin {V.NONINFERIORITY:g} x the reference's risk and equivalence at a "
        f"{V.EQUIVALENCE_LEVEL:g} interval.",
        "",
        "## Wall time",
        "",
        "Each stage's own time. The simulations ran side by side and, unless they ran on a Ray cluster, the coverage",
        "checks and the bounded-context experiments beside them (each as soon as the run it reads was done), so these",
        "overlap (the total is the whole call's). In parentheses, the seconds of it spent compiling in that stage's",
        "own thread (tracing, lowering to XLA and XLA's compilation, or a read of the persistent compilation cache).",
        "",
        *[f"- {k}: {v:.1f} s" + _compiling(r.compiling.get(k)) for k, v in r.wall.items()],
        "",
        "## Versions",
        "",
        *[f"- {v}" for v in _versions()],
        "",
        "## How verdicts are decided",
        "",
        "```text",
        (V.__doc__ or "").strip(),
        "```",
        "",
    ]
