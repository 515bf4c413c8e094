"""`simulate`: train (or resume), evaluate and write a run directory.

DIR/run.log (what was done, when, on which device; appended by every call), DIR/config.json, DIR/metrics.json
(deterministic: same config and seed give the same bytes), DIR/errors.npz
(the per-(seed, task) errors behind every mean, keyed like 'd=4/icl'), DIR/timing.json
(wall times, kept apart so metrics stay identical), DIR/checkpoint.eqx and DIR/error_vs_n.png. A run killed in
training resumes from its checkpoint; one killed in evaluation from its finished curves (DIR/evaluation/, removed
once metrics.json is written). A finished run
(metrics.json with the same config hash) is reused, not recomputed; a run written by another version of the code
(config.json records the package version and the evaluation schema) is refused, never silently reused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jax

from simulations import compiletime, devices, memory, plots, tracking
from simulations.config import RunConfig, code_version
from simulations.evaluate import damaged_curves, evaluate, stored_curves
from simulations.files import DamagedFile, locked, write_json
from simulations.records import Errors
from simulations.train import init_state, load, train
from theory.errors import InputError

# matplotlib is not thread-safe (mathtext parsing, the font cache): runs simulated in parallel threads (the report)
# draw their figures one at a time
_PLOT_LOCK = threading.Lock()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """A finished run directory, loaded: its config, metrics and per-unit errors."""

    path: Path
    cfg: RunConfig
    metrics: dict
    errors: Errors  # errors.npz (simulations.records: keys, shapes and roles)
    timing: dict

    def __post_init__(self):
        if not isinstance(self.errors, Errors):
            object.__setattr__(self, "errors", Errors(self.errors))


def check_code(path: Path, stored: dict) -> None:
    """ValueError (one line, both versions) when the run in `path` was written by other code than this one."""
    theirs = {k: stored.get(k, "before versions were recorded") for k in code_version()}
    ours = code_version()
    if theirs != ours:
        raise InputError(
            f"{path} was written by iclverify {theirs['iclverify_version']} (schema {theirs['schema']}); this is "
            f"iclverify {ours['iclverify_version']} (schema {ours['schema']}): its results would not be what this "
            "code computes; remove the directory (or choose another --out) to recompute"
        )


def load_run(path: Path | str) -> Run:
    """Load a finished run (one with metrics.json) written by this code; ValueError naming the directory otherwise.

    Args:
        path: a run directory written by `simulate` (str or Path).

    Returns:
        The Run: its `path`, `cfg` (RunConfig, from config.json), `metrics` (metrics.json), `errors` (errors.npz,
        simulations.records.Errors: per-unit errors keyed like 'd=4/icl', [seeds, tasks, N] for the model, [tasks,
        N] for baselines, [seeds, finetune_tasks, G] for fine-tuning) and `timing` (timing.json; {} when absent).

    Raises:
        InputError: not a finished run directory (no metrics.json and errors.npz), or one written by an
            incompatible version of the code (another package version or evaluation schema); a ValueError subclass.
    """
    path = Path(path)
    if not (path / "metrics.json").is_file() or not (path / "errors.npz").is_file():
        raise InputError(f"{path} is not a finished run directory (no metrics.json and errors.npz)")
    stored = json.loads((path / "config.json").read_text())
    check_code(path, stored)
    cfg = RunConfig.from_dict(stored)
    errors = Errors.read(path / "errors.npz")
    timing_path = path / "timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
    return Run(path, cfg, json.loads((path / "metrics.json").read_text()), errors, timing)


def load_models(run: Run):
    """The trained models of a finished run (stacked over seeds), from its checkpoint."""
    return load(run.path / "checkpoint.eqx", init_state(run.cfg)).models


def simulate(
    cfg: RunConfig,
    out: Path | str,
    *,
    progress: bool = True,
    wait: bool = False,
    track: tracking.Tracking | tracking.Tracker | None = None,
) -> dict:
    """Run (or reuse) the simulation described by `cfg` in directory `out`; return the metrics. On several hosts
    (JAX_COORDINATOR_ADDRESS set) JAX's distributed runtime is started first (simulations.devices.initialize).

    Args:
        cfg: the run (task, model, training, evaluation, seed); its `hash` identifies the run.
        out: its directory (created if missing): config.json, checkpoint.eqx, metrics.json, errors.npz,
            timing.json, run.log and error_vs_n.png. A directory holding the same config is reused (finished) or
            resumed (from its last checkpoint and its finished evaluation curves).
        progress: show progress bars (only where a terminal is attached).
        wait: when another process holds the run (DIR/run.lock), wait for it to finish (then reuse its metrics, or
            resume where it stopped) instead of raising RunLocked.
        track: track the run (simulations.tracking): a Tracking starts a tracked run under the config hash and
            finishes it here; a Tracker (a caller's, who finishes it) is used as it is; None tracks nothing.

    Returns:
        The metrics (metrics.json): task, config_hash, metric, n_examples (0, ..., n_max), curves (one per
        task-parameter value: {'params': ..., 'methods': {name: {mean, ci_low, ci_high}}}, the mean error over
        seeds and tasks at every N with its 95% two-stage bootstrap interval) and train_loss (the mean over seeds,
        at about 100 evenly spaced steps).

    Raises:
        InputError: `out` holds another run (another config hash), or one written by an incompatible version of
            the code.
        OutOfMemory: the run does not fit the device (simulations.memory.check, before training), or an
            allocation failed while it ran; an InputError naming the fields that lower its memory.
        RunLocked: another process holds the run (without `wait`); an InputError naming its host and pid.
        TrainingDiverged: a non-finite training loss (simulations.train; the last good checkpoint is kept).

    A damaged checkpoint or stored curve (its checksum does not match) is named in run.log and replaced: training
    resumes from the checkpoint before it, or from step 0, and the run ends with an undamaged run's numbers.
    """
    devices.initialize()  # before any computation: a no-op on one host
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # on several hosts writing one shared directory, process 0 holds the lock for all of them
    lock = locked(out, wait) if jax.process_index() == 0 else contextlib.nullcontext()
    with lock:
        return _simulate(cfg, out, progress, track)


def _tracker(track: tracking.Tracking | tracking.Tracker | None, cfg: RunConfig, out: Path):
    """The run's tracker: a caller's as it is (the caller finishes it), else one started here and finished on exit."""
    if isinstance(track, tracking.Tracker):
        return contextlib.nullcontext(track)
    if jax.process_index() != 0:  # on several hosts, process 0 tracks the run for all of them
        return tracking.Tracker()
    return tracking.start(
        track,
        cfg.hash,
        _stored_config(cfg),
        out,
        name=f"{cfg.task.kind} {cfg.hash}",
        warn=lambda line: note(out, line, logging.WARNING),
    )


def _stored_config(cfg: RunConfig) -> dict:
    """What config.json holds (and a tracked run's config): the config, its hash and the code's version."""
    return cfg.to_dict() | {"config_hash": cfg.hash} | code_version()


def _simulate(cfg: RunConfig, out: Path, progress: bool, track) -> dict:
    for orphan in [*out.glob(".tmp-*"), *out.glob("evaluation/.tmp-*")]:  # of a process killed while writing
        orphan.unlink()
    config_path, metrics_path = out / "config.json", out / "metrics.json"
    if config_path.exists():
        try:
            stored = json.loads(config_path.read_text())
        except json.JSONDecodeError:
            raise DamagedFile(f"{config_path} is damaged (not JSON): remove the directory to rerun the run") from None
        check_code(out, stored)
        existing = RunConfig.from_dict(stored)
        if existing.hash != cfg.hash:
            raise InputError(
                f"--out {out} holds another run (config {existing.hash}, this one {cfg.hash}); choose another directory"
            )
        if metrics_path.exists():
            try:
                metrics = json.loads(metrics_path.read_text())
            except json.JSONDecodeError:
                note(out, f"{metrics_path} is damaged (not JSON): evaluated again", logging.WARNING)
            else:
                note(out, f"run {cfg.hash} already finished: metrics.json reused")
                shutil.rmtree(out / "evaluation", ignore_errors=True)  # left by a kill just after metrics.json
                with _tracker(track, cfg, out) as tracker:
                    tracker.results(None, metrics, [out / "error_vs_n.png"], out)  # logged before, maybe
                return metrics
    write_json(config_path, _stored_config(cfg))
    on = ", ".join(str(d) for d in jax.devices())
    note(out, f"run {cfg.hash} ({cfg.task.kind}, iclverify {code_version()['iclverify_version']}) on {on}")
    with _out_of_memory(cfg, "the memory check"):  # compiling can allocate too (a GPU's autotuning)
        note(out, memory.check(cfg))  # OutOfMemory before anything is trained
    with _tracker(track, cfg, out) as tracker:
        return _train_evaluate(cfg, out, progress, tracker)


def _train_evaluate(cfg: RunConfig, out: Path, progress: bool, tracker: tracking.Tracker) -> dict:
    metrics_path = out / "metrics.json"
    t0, c0 = time.perf_counter(), compiletime.seconds()
    with _out_of_memory(cfg, "training"):
        state = train(cfg, out / "checkpoint.eqx", progress=progress, on_losses=tracker.train)
    for line in state.warnings:
        note(out, line, logging.WARNING)
    state.opt_states = None  # free the optimizer's device memory: evaluation needs the models alone
    t1, c1 = time.perf_counter(), compiletime.seconds()
    start = f"resumed from the checkpoint at step {state.resumed_from}" if state.resumed_from else "from step 0"
    note(out, f"trained {cfg.train.seeds} seed(s) to step {state.step} ({start}) in {t1 - t0:.1f} s")
    for line in damaged_curves(out / "evaluation"):
        note(out, line, logging.WARNING)
    stored = len(stored_curves(out / "evaluation"))
    with _out_of_memory(cfg, "evaluation"):
        curves, errors = evaluate(cfg, state.models, progress=progress, store=out / "evaluation", halfway=state.halfway)
    t2, c2 = time.perf_counter(), compiletime.seconds()
    read = f", {stored} read back from an interrupted evaluation" if stored else ""
    note(out, f"evaluated {len(curves)} curve(s){read} in {t2 - t1:.1f} s")
    every = max(1, cfg.train.steps // 100)
    metrics = {
        "task": cfg.task.kind,
        "config_hash": cfg.hash,
        "metric": cfg.task.metric,
        "n_examples": list(range(cfg.task.n_max + 1)),
        "curves": curves,
        "train_loss": {
            "steps": list(range(0, cfg.train.steps, every)),
            "mean_over_seeds": state.losses[::every].mean(axis=1).tolist(),
        },
    }
    errors.write(out / "errors.npz")
    timing = {"train_s": t1 - t0, "evaluate_s": t2 - t1, "device": str(jax.devices()[0])}
    timing |= {"train_compile_s": c1 - c0, "evaluate_compile_s": c2 - c1}  # of which compiling (compiletime)
    write_json(out / "timing.json", timing | {"resumed_from_step": state.resumed_from})  # train_s: this call only
    with _PLOT_LOCK:
        plots.error_vs_n(metrics, out / "error_vs_n.png")
    write_json(metrics_path, metrics)  # last: its presence marks a finished run
    shutil.rmtree(out / "evaluation", ignore_errors=True)  # the finished curves, kept only until now
    note(out, "finished: metrics.json, errors.npz, timing.json, error_vs_n.png")
    tracker.results(cfg.train.steps, metrics, [out / "error_vs_n.png"], out)
    return metrics


@contextlib.contextmanager
def _out_of_memory(cfg: RunConfig, stage: str):
    """An allocation the device refused (XLA's RESOURCE_EXHAUSTED), reported as OutOfMemory in one line: the
    estimate before the run is an upper one, but other processes may take memory meanwhile."""
    try:
        yield
    except jax.errors.JaxRuntimeError as err:
        if "RESOURCE_EXHAUSTED" not in str(err):
            raise
        first = str(err).strip().splitlines()[0]
        raise memory.OutOfMemory(
            f"run {cfg.hash} ran out of device memory in {stage} ({first}): lower it with {memory.knobs()}"
        ) from None


def note(out: Path, message: str, level: int = logging.INFO) -> None:
    """Append a timestamped line to DIR/run.log -- the plain-text account of what was done to a run, kept across
    restarts -- and log it (logger 'simulations.run': INFO, which `iclverify -v` shows, or a WARNING, marked so in
    run.log and shown by default)."""
    log.log(level, "%s: %s", out, message)
    mark = "warning: " if level >= logging.WARNING else ""
    with (out / "run.log").open("a") as f:
        f.write(f"{datetime.now().isoformat(timespec='seconds')} {mark}{message}\n")
